import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { endpoints } from '@sightline/testkit';

const repoRoot = endpoints().repoRoot;

// Compose v2 (`docker compose`) when the plugin is installed, else Debian's docker-compose 1.29.
// Neither needs a running engine for `config`, which validates, interpolates and normalizes the file.
// Returns the normalized file as JSON: v2 prints it directly; 1.29 prints YAML only, which the
// python3-yaml that Debian's docker-compose depends on converts.
function composeConfig(): unknown {
  const file = path.join(repoRoot, 'docker-compose.yml');
  const run = (cmd: string, args: string[], input?: string) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', cwd: repoRoot, input, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      throw new Error(`${cmd} ${args.join(' ')} failed (needs the compose plugin or Debian's docker-compose): ${stderr}`);
    }
  };
  if (spawnSync('docker', ['compose', 'version']).status === 0) {
    return JSON.parse(run('docker', ['compose', '-f', file, 'config', '--format', 'json']));
  }
  const yaml = run('docker-compose', ['-f', file, 'config']);
  return JSON.parse(run('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], yaml));
}

// Short syntax ("127.0.0.1:9092:9092/tcp", docker-compose 1.29) and long syntax (Compose v2).
const Port = z.union([
  z.string().transform((s, ctx) => {
    const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(s);
    if (!m) { ctx.addIssue({ code: 'custom', message: `unparsed port mapping ${s}` }); return z.NEVER; }
    return { hostIp: m[1] ?? '', published: Number(m[2]), target: Number(m[3]) };
  }),
  z.object({ host_ip: z.string().default(''), published: z.coerce.number(), target: z.coerce.number() })
    .transform((p) => ({ hostIp: p.host_ip, published: p.published, target: p.target })),
]);
const Service = z.object({
  image: z.string(),
  ports: z.array(Port).default([]),
  healthcheck: z.object({ test: z.union([z.array(z.string()), z.string()]) }).optional(),
  volumes: z.array(z.union([z.string(), z.object({ source: z.string().optional(), target: z.string() })])).default([]),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))]).optional(),
});
const Compose = z.object({ services: z.record(z.string(), Service), volumes: z.record(z.string(), z.unknown()).optional() });

const compose = Compose.parse(composeConfig());
const svc = (name: string) => {
  const s = compose.services[name];
  assert.ok(s, `docker-compose.yml has a ${name} service`);
  return s;
};
const portOf = (url: string) => Number(new URL(url).port);

test('compose: every published port is bound to 127.0.0.1', () => {
  const all = Object.entries(compose.services).flatMap(([name, s]) => s.ports.map((p) => ({ name, ...p })));
  assert.ok(all.length >= 8);
  for (const p of all) assert.equal(p.hostIp, '127.0.0.1', `${p.name} publishes ${p.published} on ${p.hostIp || 'all interfaces'}`);
});

test('compose: services publish the ports testkit endpoints() and the native scripts use', () => {
  const e = endpoints({});
  const expected: Record<string, number[]> = {
    kafka: e.kafkaBrokers.map((b) => Number(b.split(':')[1])),
    clickhouse: [portOf(e.clickhouseUrl), 9000],
    moto: [portOf(e.s3Endpoint)],
    fakegcs: [portOf(e.gcsEndpoint)],
    azurite: [portOf(e.azureBlobEndpoint)],
    etcd: [2379],
    'kube-apiserver': [6443],
  };
  for (const [name, ports] of Object.entries(expected)) {
    assert.deepEqual(svc(name).ports.map((p) => p.published).sort(), ports.sort(), `${name} ports`);
    for (const p of svc(name).ports) assert.equal(p.published, p.target, `${name} maps ${p.published} to the same container port`);
  }
});

test('compose: long-running services have health checks, stateful ones have volumes', () => {
  for (const name of ['kafka', 'clickhouse', 'moto', 'fakegcs', 'azurite', 'etcd', 'kube-ready']) {
    const hc = svc(name).healthcheck;
    assert.ok(hc && hc.test.length > 0, `${name} has a healthcheck`);
  }
  for (const name of ['kafka', 'clickhouse', 'fakegcs', 'azurite', 'etcd']) {
    assert.ok(svc(name).volumes.length > 0, `${name} keeps its data in a volume`);
  }
  const deps = svc('kube-apiserver').depends_on;
  assert.ok(deps && !Array.isArray(deps));
  assert.equal(deps.etcd?.condition, 'service_healthy');
  assert.equal(deps['kube-credentials']?.condition, 'service_completed_successfully');
});

test('compose: images are the versions the native scripts run', () => {
  const local = path.join(repoRoot, 'infra/local');
  const kubeVersion = /^require k8s\.io\/kubernetes (v[\d.]+)$/m.exec(readFileSync(path.join(local, 'kubernetes/build/go.mod'), 'utf8'))?.[1];
  const azuriteVersion = /AZURITE_VERSION:-([\d.]+)/.exec(readFileSync(path.join(local, 'services/azurite.sh'), 'utf8'))?.[1];
  const gcsVersion = /FAKEGCS_VERSION:-v([\d.]+)/.exec(readFileSync(path.join(local, 'services/fakegcs.sh'), 'utf8'))?.[1];
  const motoVersion = /moto\[server\]==([\d.]+)/.exec(readFileSync(path.join(local, 'moto/requirements.txt'), 'utf8'))?.[1];
  assert.equal(svc('kube-apiserver').image, `registry.k8s.io/kube-apiserver:${kubeVersion}`);
  assert.equal(svc('azurite').image, `mcr.microsoft.com/azure-storage/azurite:${azuriteVersion}`);
  assert.equal(svc('fakegcs').image, `fsouza/fake-gcs-server:${gcsVersion}`);
  assert.equal(svc('moto').image, `motoserver/moto:${motoVersion}`);
  const kafkaVersion = /<kafka\.version>([\d.]+)<\/kafka\.version>/.exec(readFileSync(path.join(local, 'kafka/pom.xml'), 'utf8'))?.[1];
  assert.equal(svc('kafka').image, `apache/kafka:${kafkaVersion}`);
});
