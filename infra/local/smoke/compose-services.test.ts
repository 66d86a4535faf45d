import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { endpoints } from '@sightline/testkit';
import { ApiConfigSchema, TokenFileSchema } from '@sightline/api';
import { parseConfig as parseCollectorConfig } from '@sightline/collector';
import { parseConfig as parseEnricherConfig } from '@sightline/enricher';

/**
 * The Sightline part of docker-compose.yml (collector, enricher, api from the root Dockerfile, and
 * grafana): loopback-only ports that match the configs the containers get, health checks on the
 * services' health endpoints, and example configs in infra/compose/ that the services accept.
 */

const repoRoot = endpoints().repoRoot;

// Same approach as compose.test.ts: Compose v2 when installed, else Debian's docker-compose 1.29 + python3-yaml.
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

const Port = z.union([
  z.string().transform((s, ctx) => {
    const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(s);
    if (!m) { ctx.addIssue({ code: 'custom', message: `unparsed port mapping ${s}` }); return z.NEVER; }
    return { hostIp: m[1] ?? '', published: Number(m[2]), target: Number(m[3]) };
  }),
  z.object({ host_ip: z.string().default(''), published: z.coerce.number(), target: z.coerce.number() })
    .transform((p) => ({ hostIp: p.host_ip, published: p.published, target: p.target })),
]);
// Short ("./a:/b:ro", 1.29 prints absolute paths) and long syntax (v2).
const Volume = z.union([
  z.string().transform((s) => {
    const [source = '', target = '', mode = ''] = s.split(':');
    return { source, target, readOnly: mode === 'ro' };
  }),
  z.object({ source: z.string().default(''), target: z.string(), read_only: z.boolean().default(false) })
    .transform((v) => ({ source: v.source, target: v.target, readOnly: v.read_only })),
]);
const Service = z.object({
  image: z.string(),
  build: z.object({ context: z.string(), dockerfile: z.string().optional(), args: z.record(z.string(), z.string().nullable()).optional() }).optional(),
  command: z.union([z.array(z.string()), z.string()]).optional(),
  environment: z.record(z.string(), z.string().nullable()).default({}),
  ports: z.array(Port).default([]),
  healthcheck: z.object({ test: z.union([z.array(z.string()), z.string()]) }).optional(),
  volumes: z.array(Volume).default([]),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))]).optional(),
});
const compose = z.object({ services: z.record(z.string(), Service) }).parse(composeConfig());
const svc = (name: string) => {
  const s = compose.services[name];
  assert.ok(s, `docker-compose.yml has a ${name} service`);
  return s;
};

const configDir = path.join(repoRoot, 'infra/compose');
const readJson = (f: string): unknown => JSON.parse(readFileSync(path.join(configDir, f), 'utf8'));
const healthText = (name: string): string => {
  const hc = svc(name).healthcheck;
  assert.ok(hc, `${name} has a health check`);
  return Array.isArray(hc.test) ? hc.test.join(' ') : hc.test;
};

/** The config file the container is started with: the --config argument and the file mounted there. */
function mountedConfig(name: string): { file: string; target: string } {
  const s = svc(name);
  const cmd = Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/);
  const i = cmd.indexOf('--config');
  const target = i === -1 ? undefined : cmd[i + 1];
  assert.ok(target, `${name} is started with --config FILE`);
  const v = s.volumes.find((x) => x.target === target);
  assert.ok(v, `${name} mounts its --config file ${target}`);
  assert.ok(v.readOnly, `${name}: ${target} is mounted read-only`);
  const rel = path.relative(configDir, v.source);
  assert.ok(!rel.startsWith('..') && !path.isAbsolute(rel), `${name}: ${target} comes from infra/compose/ (is ${v.source})`);
  return { file: rel, target };
}

test('compose services: collector, enricher and api are built from the root Dockerfile, one SERVICE each', () => {
  for (const name of ['collector', 'enricher', 'api']) {
    const b = svc(name).build;
    assert.ok(b, `${name} has a build section`);
    assert.equal(path.resolve(repoRoot, b.context), repoRoot, `${name} builds from the repository root`);
    assert.equal(path.basename(b.dockerfile ?? 'Dockerfile'), 'Dockerfile');
    assert.equal(b.args?.SERVICE, name, `${name} build arg SERVICE`);
  }
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /pnpm install --frozen-lockfile/);
  assert.match(dockerfile, /services\/\$\{SIGHTLINE_SERVICE\}\/dist\/main\.js/);
  assert.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2, 'multi-stage: build, then run');
});

test('compose services: the example configs are valid for each service', () => {
  const collector = parseCollectorConfig(readFileSync(path.join(configDir, mountedConfig('collector').file), 'utf8'), 'infra/compose/collector.json');
  assert.deepEqual(collector.kafka.brokers, ['kafka:19092'], 'the Kafka listener for containers');
  const enricher = parseEnricherConfig(readJson(mountedConfig('enricher').file), 'infra/compose/enricher.json');
  assert.equal(enricher.store.engine, 'clickhouse');
  const api = ApiConfigSchema.parse(readJson(mountedConfig('api').file));
  assert.equal(api.query?.store.engine, 'clickhouse');
  const tokens = svc('api').volumes.find((v) => v.target === api.tokensFile);
  assert.ok(tokens, `api mounts its tokens file ${api.tokensFile}`);
  const parsed = TokenFileSchema.parse(readJson(path.relative(configDir, tokens.source)));
  assert.ok(parsed.clusters.length > 0 && parsed.readers.length > 0);
});

test('compose services: the checker rejects an invalid example (guards the test above)', () => {
  assert.throws(() => parseCollectorConfig(JSON.stringify({ kafka: { brokers: ['kafka'] }, sources: [] }), 'bad.json'), /kafka\.brokers\[0\]|sources/);
  assert.throws(() => parseEnricherConfig({ kafka: { brokers: ['kafka:19092'] }, store: { engine: 'clickhouse', url: 'nope', database: 'x' } }, 'bad.json'), /store\.url/);
  assert.equal(ApiConfigSchema.safeParse({}).success, false, 'tokensFile is required');
});

test('compose services: ports on 127.0.0.1 are the ones the configs listen on, health checks probe them', () => {
  const collector = parseCollectorConfig(readFileSync(path.join(configDir, mountedConfig('collector').file), 'utf8'), 'collector.json');
  const enricher = parseEnricherConfig(readJson(mountedConfig('enricher').file), 'enricher.json');
  const api = ApiConfigSchema.parse(readJson(mountedConfig('api').file));
  const listens: Record<string, { host: string; port: number; health: string }> = {
    collector: { ...collector.http, health: '/healthz' },
    enricher: { ...enricher.http, health: '/healthz' },
    api: { ...api.listen, health: '/readyz' },
  };
  // the api's /metrics has a listener of its own (it names tenants): published beside the public port
  const extra: Record<string, { host: string; port: number }[]> = { api: [api.metrics] };
  for (const [name, l] of Object.entries(listens)) {
    // Inside the container the server must listen beyond its own loopback for the port mapping to reach it.
    assert.equal(l.host, '0.0.0.0', `${name} listens on all container interfaces`);
    for (const e of extra[name] ?? []) assert.equal(e.host, '0.0.0.0', `${name} listens on all container interfaces (${e.port})`);
    const ports = svc(name).ports;
    const want = [l.port, ...(extra[name] ?? []).map((e) => e.port)];
    assert.deepEqual(ports.map((p) => [p.hostIp, p.published, p.target]), want.map((p) => ['127.0.0.1', p, p]), `${name} publishes ${want.join(', ')} on 127.0.0.1 only`);
    assert.ok(healthText(name).includes(`http://127.0.0.1:${l.port}${l.health}`), `${name} health check probes ${l.health} on ${l.port}`);
  }
  assert.notEqual(api.metrics.port, api.listen.port, 'api: /metrics is not on the public port');
});

test('compose services: grafana on 127.0.0.1:3000, anonymous off, password from the environment, provisioning read-only', () => {
  const g = svc('grafana');
  assert.match(g.image, /^grafana\/grafana:\d+\.\d+\.\d+$/, 'pinned image');
  assert.deepEqual(g.ports.map((p) => [p.hostIp, p.published, p.target]), [['127.0.0.1', 3000, 3000]]);
  assert.match(healthText('grafana'), /127\.0\.0\.1:3000\/api\/health/);
  assert.equal(g.environment.GF_AUTH_ANONYMOUS_ENABLED, 'false');
  assert.match(g.environment.GF_INSTALL_PLUGINS ?? '', /^grafana-clickhouse-datasource \d+\.\d+\.\d+$/, 'pinned plugin version');
  // The default is interpolated by `config`: it must be the documented dev-only one, and a set variable must win.
  assert.match(g.environment.GF_SECURITY_ADMIN_PASSWORD ?? '', /dev-only/);
  const raw = readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
  assert.match(raw, /GF_SECURITY_ADMIN_PASSWORD: \$\{GRAFANA_ADMIN_PASSWORD:-[^}]+\}/);
  const prov = g.volumes.find((v) => v.target === '/etc/grafana/provisioning');
  assert.ok(prov?.readOnly && path.relative(repoRoot, prov.source) === 'infra/grafana/provisioning', 'provisioning mounted read-only');
  const dash = g.volumes.find((v) => v.target === '/var/lib/grafana/dashboards/sightline');
  assert.ok(dash?.readOnly && path.relative(repoRoot, dash.source) === 'infra/grafana/dashboards', 'dashboards mounted read-only');
  const deps = g.depends_on;
  assert.ok(deps && !Array.isArray(deps) && deps.clickhouse?.condition === 'service_healthy');
});

test('compose services: the services wait for healthy Kafka (and ClickHouse where they write or read it)', () => {
  const need: Record<string, string[]> = { collector: ['kafka'], enricher: ['kafka', 'clickhouse'], api: ['kafka', 'clickhouse'] };
  for (const [name, deps] of Object.entries(need)) {
    const d = svc(name).depends_on;
    assert.ok(d && !Array.isArray(d), `${name} depends_on with conditions`);
    for (const dep of deps) assert.equal(d[dep]?.condition, 'service_healthy', `${name} waits for ${dep}`);
  }
});
