import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ApiextensionsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { endpoints } from '@sightline/testkit';
import { loadConfig as loadApiConfig, TokenFileSchema } from '@sightline/api';
import { loadConfig as loadCollectorConfig } from '@sightline/collector';
import { loadConfig as loadEnricherConfig } from '@sightline/enricher';
import { loadConfig as loadKubetagsConfig } from '@sightline/kubetags';

/**
 * The Helm charts (infra/helm/sightline, infra/helm/kubetags): rendered by `helm template` with
 * their default values and with ci/all-values.yaml (every option on); each service's rendered
 * config file loaded by that service's own loader (strict schemas: a key it does not accept
 * fails); the probes on the ports the configs listen on; then every rendered object sent to the
 * local kube-apiserver as a server-side dry run (dryRun=All, fieldValidation=Strict, so a
 * misspelt field is refused, not dropped), in a fresh namespace deleted afterwards.
 * ServiceMonitor is a CRD (monitoring.coreos.com) the local apiserver lacks: the test installs a
 * minimal one first (left installed: it is cluster-wide and other runs may be using it).
 */

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const repoRoot = endpoints().repoRoot;
const chartsDir = path.join(repoRoot, 'infra', 'helm');

// infra/local/helm.sh builds helm from the Go module proxy the first time (minutes), then only
// prints the cached binary's path.
let helmPath: string | undefined;
function helm(): string {
  helmPath ??= execFileSync('bash', [path.join(repoRoot, 'infra', 'local', 'helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return helmPath;
}

const K8sObject = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.object({ name: z.string(), namespace: z.string().optional() }).passthrough(),
}).passthrough();
type K8sObject = z.infer<typeof K8sObject>;

function render(chart: string, release: string, namespace: string, valuesFile?: string): K8sObject[] {
  const args = ['template', release, path.join(chartsDir, chart), '--namespace', namespace];
  if (valuesFile) args.push('--values', path.join(chartsDir, chart, valuesFile));
  let out: string;
  try {
    out = execFileSync(helm(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`helm ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  // js-yaml, not client-node's loadAllYaml: that one maps objects onto its typed models (`from`
  // becomes `_from`, unknown fields vanish), and the dry run must see exactly what helm rendered.
  return yaml.loadAll(out).filter((o) => o !== null && o !== undefined).map((o) => K8sObject.parse(o));
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} not rendered (have: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return o;
}

const DataObject = z.object({ data: z.record(z.string(), z.string()) });
function configMapFile(o: K8sObject, key: string): string {
  const v = DataObject.parse(o).data[key];
  assert.ok(v !== undefined, `${o.kind}/${o.metadata.name} has no ${key}`);
  return v;
}
function secretFile(o: K8sObject, key: string): string {
  return Buffer.from(configMapFile(o, key), 'base64').toString('utf8');
}

const Probe = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]), scheme: z.string().optional() }) });
const Container = z.object({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  ports: z.array(z.object({ name: z.string(), containerPort: z.number() })).default([]),
  startupProbe: Probe.optional(),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  resources: z.object({ requests: z.record(z.string(), z.unknown()), limits: z.record(z.string(), z.unknown()) }).optional(),
});
const Deployment = z.object({
  spec: z.object({
    template: z.object({
      spec: z.object({ initContainers: z.array(Container).optional(), containers: z.array(Container).min(1) }),
    }),
  }),
});

/** The port a probe reaches, resolved through the container's named ports. */
function probePort(c: z.infer<typeof Container>, p: z.infer<typeof Probe> | undefined, what: string): number {
  assert.ok(p, `${c.name}: no ${what} probe`);
  const port = p.httpGet.port;
  if (typeof port === 'number') return port;
  const named = c.ports.find((x) => x.name === port);
  assert.ok(named, `${c.name}: ${what} probe names port ${port}, which the container does not declare`);
  return named.containerPort;
}

function container(objects: K8sObject[], name: string): z.infer<typeof Container> {
  const c = Deployment.parse(find(objects, 'Deployment', name)).spec.template.spec.containers[0];
  assert.ok(c);
  return c;
}

/**
 * Every key of the rendered file is in what the loader returned: the api's and kubetags' schemas
 * are not strict and would drop a key they do not know without a word, so a misspelt or
 * unsupported key rendered by a chart must show here instead.
 */
function assertNoDroppedKeys(rendered: unknown, loaded: unknown, where: string): void {
  if (Array.isArray(rendered)) {
    assert.ok(Array.isArray(loaded), `${where}: an array the loader turned into something else`);
    rendered.forEach((v, i) => assertNoDroppedKeys(v, loaded[i], `${where}[${i}]`));
  } else if (typeof rendered === 'object' && rendered !== null) {
    assert.ok(typeof loaded === 'object' && loaded !== null, `${where}: an object the loader turned into something else`);
    for (const [k, v] of Object.entries(rendered)) {
      assert.ok(k in loaded, `${where}.${k}: rendered, but the service's config schema drops it`);
      assertNoDroppedKeys(v, (loaded as Record<string, unknown>)[k], `${where}.${k}`);
    }
  }
}

/** Writes the rendered config files to a temporary directory and loads each with its service's loader. */
async function checkSightlineConfigs(objects: K8sObject[], fullname: string, dir: string) {
  const cm = find(objects, 'ConfigMap', `${fullname}-config`);
  const files = {
    collector: secretFile(find(objects, 'Secret', `${fullname}-collector-config`), 'collector.json'),
    enricher: configMapFile(cm, 'enricher.json'),
    api: configMapFile(cm, 'api.json'),
  };
  for (const [svc, text] of Object.entries(files)) writeFileSync(path.join(dir, `${svc}.json`), text);
  // The api's token file is checked against its schema too: the api refuses to start without one.
  const tokens = TokenFileSchema.parse(JSON.parse(secretFile(find(objects, 'Secret', `${fullname}-api-tokens`), 'api-tokens.json')));
  const loaded = {
    collector: await loadCollectorConfig(path.join(dir, 'collector.json')),
    enricher: await loadEnricherConfig(path.join(dir, 'enricher.json')),
    api: loadApiConfig(path.join(dir, 'api.json')),
    tokens,
  };
  for (const svc of ['collector', 'enricher', 'api'] as const) assertNoDroppedKeys(JSON.parse(files[svc]), loaded[svc], `${svc}.json`);
  return loaded;
}

/** Probes: liveness on /healthz and readiness on /readyz for every service (service-kit serves both), on the ports their configs listen on. */
function checkProbes(objects: K8sObject[], fullname: string, cfg: Awaited<ReturnType<typeof checkSightlineConfigs>>, https: boolean) {
  const expected = {
    collector: { port: cfg.collector.http.port, ready: '/readyz' },
    enricher: { port: cfg.enricher.http.port, ready: '/readyz' },
    api: { port: cfg.api.listen.port, ready: '/readyz' },
  };
  for (const [svc, want] of Object.entries(expected)) {
    const c = container(objects, `${fullname}-${svc}`);
    for (const what of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
      assert.equal(probePort(c, c[what], what), want.port, `${svc} ${what} port`);
      assert.equal(c[what]?.httpGet.scheme, https && svc === 'api' ? 'HTTPS' : 'HTTP', `${svc} ${what} scheme`);
    }
    assert.equal(c.livenessProbe?.httpGet.path, '/healthz', `${svc} liveness path`);
    assert.equal(c.readinessProbe?.httpGet.path, want.ready, `${svc} readiness path`);
    assert.ok(c.resources, `${svc}: resources`);
    // the host the config binds must be reachable from the kubelet and the Service
    const host = svc === 'api' ? cfg.api.listen.host : cfg[svc as 'collector' | 'enricher'].http.host;
    assert.equal(host, '0.0.0.0', `${svc} listens on all interfaces`);
  }
  // the api's /metrics listener: a port of its own, declared and reachable
  const api = container(objects, `${fullname}-api`);
  assert.equal(api.ports.find((p) => p.name === 'metrics')?.containerPort, cfg.api.metrics.port);
  assert.equal(cfg.api.metrics.host, '0.0.0.0');
  assert.notEqual(cfg.api.metrics.port, cfg.api.listen.port);
}

// ---- the local kube-apiserver

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(endpoints().kubeconfig);
  return kc;
}

/** KubernetesObjectApi resolves a kind to its REST path through discovery; only that is used here. */
class ObjectPaths extends KubernetesObjectApi {
  createPath(o: KubernetesObject): Promise<string> { return this.specUriPath(o, 'create'); }
}

/**
 * POST with dryRun=All and fieldValidation=Strict (client-node's create takes no fieldValidation,
 * and the server's default only warns about unknown fields).
 */
async function dryRunCreate(kc: KubeConfig, paths: ObjectPaths, o: K8sObject): Promise<{ status: number; body: string }> {
  const cluster = kc.getCurrentCluster();
  assert.ok(cluster, 'kubeconfig has no current cluster');
  const url = new URL(`${cluster.server}${await paths.createPath(o)}`);
  url.searchParams.set('dryRun', 'All');
  url.searchParams.set('fieldValidation', 'Strict');
  const opts: { method: string; headers: Record<string, string> } = { method: 'POST', headers: { 'content-type': 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(o));
  });
}

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'CustomResourceDefinition']);

/** Every object dry-run created in `namespace`; all must be accepted (201). */
async function applyAll(objects: K8sObject[], namespace: string): Promise<void> {
  const kc = kubeConfig();
  const paths = kc.makeApiClient(ObjectPaths);
  const refused: string[] = [];
  for (const o of objects) {
    const obj = CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace } };
    const r = await dryRunCreate(kc, paths, obj);
    if (r.status !== 201) refused.push(`${o.kind}/${o.metadata.name}: ${r.status} ${r.body}`);
  }
  assert.deepEqual(refused, [], 'objects refused by the kube-apiserver');
}

function isStatus(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
}

/**
 * A minimal monitoring.coreos.com ServiceMonitor CRD (the fields the charts use, typed; the rest
 * preserved), so the dry run checks ServiceMonitors against a schema rather than skipping them.
 */
async function ensureServiceMonitorCrd(kc: KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const name = 'servicemonitors.monitoring.coreos.com';
  try {
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name },
        spec: {
          group: 'monitoring.coreos.com',
          scope: 'Namespaced',
          names: { plural: 'servicemonitors', singular: 'servicemonitor', kind: 'ServiceMonitor', listKind: 'ServiceMonitorList' },
          versions: [{
            name: 'v1', served: true, storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    required: ['selector', 'endpoints'],
                    x_kubernetes_preserve_unknown_fields: true,
                    properties: {
                      selector: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                      endpoints: {
                        type: 'array',
                        items: {
                          type: 'object',
                          x_kubernetes_preserve_unknown_fields: true,
                          properties: { port: { type: 'string' }, path: { type: 'string' }, interval: { type: 'string', pattern: '^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' } },
                        },
                      },
                    },
                  },
                },
              },
            },
          }],
        },
      },
    });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
  // the CRD serves once Established (apiextensions runs inside kube-apiserver)
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crd = await ext.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`${name}: not Established within 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A fresh namespace for one render, deleted after. Without a controller-manager a deleted
 * namespace would stay Terminating forever, so its (empty: everything was a dry run) finalizer
 * list is cleared, as the namespace controller would once it had emptied it.
 */
async function withNamespace(fn: (ns: string) => Promise<void>): Promise<void> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const ns = `sightline-helm-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: ns, labels: { 'sightline.dev/test': 'helm' } } } });
  try {
    await fn(ns);
  } finally {
    await core.deleteNamespace({ name: ns });
    await core.replaceNamespaceFinalize({ name: ns, body: { metadata: { name: ns }, spec: { finalizers: [] } } }).catch((err: unknown) => {
      if (!isStatus(err, 404)) throw err;
    });
  }
}

// ---- tests

test('helm charts: helm (built from the Go module proxy, cached) renders both charts and lints them', { skip, timeout: 30 * 60_000 }, () => {
  const version = execFileSync(helm(), ['version', '--short'], { encoding: 'utf8' }).trim();
  assert.match(version, /^v3\.\d+\.\d+/);
  for (const [chart, values] of [['sightline', undefined], ['sightline', 'ci/all-values.yaml'], ['kubetags', undefined], ['kubetags', 'ci/all-values.yaml']] as const) {
    const args = ['lint', '--strict', path.join(chartsDir, chart)];
    if (values) args.push('--values', path.join(chartsDir, chart, values));
    execFileSync(helm(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
});

test('helm sightline chart, default values: configs the services accept, probes on their ports, accepted by the kube-apiserver', { skip, timeout: 30 * 60_000 }, async () => {
  await withNamespace(async (ns) => {
    const objects = render('sightline', 'sl', ns);
    const dir = mkdtempSync(path.join(tmpdir(), 'sightline-helm-'));
    try {
      const cfg = await checkSightlineConfigs(objects, 'sl-sightline', dir);
      checkProbes(objects, 'sl-sightline', cfg, false);
      // one topic prefix and one Kafka for all three
      assert.deepEqual(new Set([cfg.collector.kafka.topicPrefix, cfg.enricher.kafka.topicPrefix, cfg.api.kafka.topicPrefix]), new Set(['sightline.']));
      assert.equal(cfg.enricher.store.engine, 'clickhouse');
      assert.equal(cfg.api.query?.store.engine, 'clickhouse');
      // no password: none in the configs, no ClickHouse or Kafka Secret, no optional kinds
      assert.ok(cfg.api.query?.store.engine === 'clickhouse' && cfg.api.query.store.passwordFile === undefined);
      const kinds = new Set(objects.map((o) => o.kind));
      for (const k of ['ServiceMonitor', 'PodDisruptionBudget', 'NetworkPolicy']) assert.ok(!kinds.has(k), `${k} rendered by default`);
      assert.deepEqual(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name).sort(), ['sl-sightline-api-tokens', 'sl-sightline-collector-config']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await applyAll(objects, ns);
  });
});

test('helm sightline chart, every option on: secrets mounted where the configs look, optional kinds, accepted by the kube-apiserver', { skip, timeout: 30 * 60_000 }, async () => {
  await ensureServiceMonitorCrd(kubeConfig());
  await withNamespace(async (ns) => {
    const objects = render('sightline', 'prod', ns, 'ci/all-values.yaml');
    const fullname = 'prod-sightline';
    const dir = mkdtempSync(path.join(tmpdir(), 'sightline-helm-'));
    try {
      const cfg = await checkSightlineConfigs(objects, fullname, dir);
      checkProbes(objects, fullname, cfg, true);
      // values reached the configs (settings, per-service overrides deep-merged over shared keys)
      assert.equal(cfg.collector.collector.workers, 4);
      assert.equal(cfg.collector.kafka.sessionTimeoutMs, 45_000);
      assert.deepEqual(cfg.collector.kafka.brokers, ['kafka-0.kafka:9093', 'kafka-1.kafka:9093']);
      assert.equal(cfg.collector.sources.length, 3);
      assert.equal(cfg.enricher.kafka.group, 'sightline-enricher-prod');
      assert.equal(cfg.enricher.kafka.topicPrefix, 'prod.');
      assert.equal(cfg.enricher.enricher.clusters[0]?.cluster, 'prod-eks');
      assert.equal(cfg.api.ingest.maxBodyBytes, 16_777_216);
      assert.equal(cfg.api.query?.timeoutMs, 30_000);
      assert.equal(cfg.api.logLevel, 'warn');
      assert.equal(cfg.tokens.clusters.length, 1);
      assert.equal(cfg.tokens.readers.length, 1);

      // ClickHouse password: a Secret; the api reads it as a file at the path its config names...
      const chSecret = find(objects, 'Secret', `${fullname}-clickhouse`);
      assert.equal(secretFile(chSecret, 'password'), 'test-only-clickhouse-password');
      const apiStore = cfg.api.query?.store;
      assert.ok(apiStore?.engine === 'clickhouse');
      assert.equal(apiStore.passwordFile, '/etc/sightline/clickhouse/password');
      assert.equal(cfg.api.tls?.certFile, '/etc/sightline/tls/tls.crt');
      // ...and no config the chart renders carries it
      for (const o of objects.filter((x) => x.kind === 'ConfigMap')) assert.ok(!JSON.stringify(o).includes('test-only-clickhouse-password'), `${o.metadata.name} holds the password`);

      // the enricher's schema takes the password inline: its init container writes the config with
      // it into memory. Run that very script on the rendered files and load the result.
      const enricherDeploy = Deployment.parse(find(objects, 'Deployment', `${fullname}-enricher`)).spec.template.spec;
      const init = enricherDeploy.initContainers?.[0];
      assert.ok(init?.command, 'enricher init container');
      const enricherMain = enricherDeploy.containers[0];
      assert.equal(enricherMain?.args?.[1], '/run/sightline/enricher.json');
      const root = path.join(dir, 'pod');
      for (const d of ['etc/sightline/config', 'etc/sightline/clickhouse', 'run/sightline']) mkdirSync(path.join(root, d), { recursive: true });
      writeFileSync(path.join(root, 'etc/sightline/config/enricher.json'), readFileSync(path.join(dir, 'enricher.json')));
      writeFileSync(path.join(root, 'etc/sightline/clickhouse/password'), 'test-only-clickhouse-password\n');
      const [cmd, flag, script] = init.command;
      assert.equal(cmd, 'node');
      assert.equal(flag, '-e');
      assert.ok(script);
      execFileSync(process.execPath, ['-e', script.replaceAll("'/etc/", `'${root}/etc/`).replaceAll("'/run/", `'${root}/run/`)]);
      const withPassword = await loadEnricherConfig(path.join(root, 'run/sightline/enricher.json'));
      assert.ok(withPassword.store.engine === 'clickhouse');
      assert.equal(withPassword.store.password, 'test-only-clickhouse-password');

      // Kafka credentials: a Secret mounted in all three pods
      const kafka = find(objects, 'Secret', `${fullname}-kafka`);
      assert.equal(secretFile(kafka, 'sasl-password'), 'test-only-kafka-password');
      // ...and every config names its files at their mount (kafka.tls / kafka.sasl values), never the password
      for (const svc of ['collector', 'enricher', 'api'] as const) {
        const k = cfg[svc].kafka;
        assert.deepEqual(k.ssl, { caFile: '/etc/sightline/kafka/ca.crt', servername: 'kafka.example.com', rejectUnauthorized: true }, `${svc} kafka.ssl`);
        assert.deepEqual(k.sasl, { mechanism: 'scram-sha-512', username: 'sightline', passwordFile: '/etc/sightline/kafka/sasl-password' }, `${svc} kafka.sasl`);
      }
      assert.ok(secretFile(kafka, 'ca.crt').includes('BEGIN CERTIFICATE'));
      for (const o of objects.filter((x) => x.kind === 'ConfigMap')) assert.ok(!JSON.stringify(o).includes('test-only-kafka-password'), `${o.metadata.name} holds the Kafka password`);
      for (const svc of ['collector', 'enricher', 'api']) {
        assert.ok(JSON.stringify(find(objects, 'Deployment', `${fullname}-${svc}`)).includes(`"secretName":"${fullname}-kafka"`), `${svc} mounts the Kafka Secret`);
      }
      // image from the registry, tag and the service's repository (the root Dockerfile, one build per service)
      assert.equal(container(objects, `${fullname}-api`).image, 'registry.example.com/sightline/api:1.2.3');
      const kinds = objects.map((o) => o.kind);
      for (const k of ['ServiceMonitor', 'PodDisruptionBudget', 'NetworkPolicy']) assert.equal(kinds.filter((x) => x === k).length, 3, k);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await applyAll(objects, ns);
  });
});

test('helm kubetags chart: config the agent accepts, read-only RBAC, token Secret, accepted by the kube-apiserver', { skip, timeout: 30 * 60_000 }, async () => {
  await ensureServiceMonitorCrd(kubeConfig());
  for (const values of [undefined, 'ci/all-values.yaml']) {
    await withNamespace(async (ns) => {
      const objects = render('kubetags', 'kt', ns, values);
      const dir = mkdtempSync(path.join(tmpdir(), 'sightline-helm-'));
      try {
        writeFileSync(path.join(dir, 'config.json'), configMapFile(find(objects, 'ConfigMap', 'kt-kubetags'), 'config.json'));
        const cfg = loadKubetagsConfig(path.join(dir, 'config.json'));
        assertNoDroppedKeys(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')), cfg, 'kubetags config.json');
        // the token file the config names is where the Secret is mounted
        const c = container(objects, 'kt-kubetags');
        assert.deepEqual(c.args, ['--config', '/etc/kubetags/config.json']);
        assert.equal(cfg.backend.tokenFile, '/var/run/sightline/token/token');
        assert.equal(probePort(c, c.readinessProbe, 'readiness'), cfg.http.port);
        assert.equal(c.readinessProbe?.httpGet.path, '/readyz');
        assert.equal(c.livenessProbe?.httpGet.path, '/healthz');
        const Role = z.object({ rules: z.array(z.object({ apiGroups: z.array(z.string()), resources: z.array(z.string()), verbs: z.array(z.string()) })) });
        const rules = Role.parse(find(objects, 'ClusterRole', `kt-kubetags-${ns}`)).rules;
        for (const rule of rules) assert.deepEqual(rule.verbs, ['get', 'list', 'watch']);
        // exactly the plain manifests' rules (the ones services/kubetags' agent tests run under)
        const manifest = yaml.loadAll(readFileSync(path.join(repoRoot, 'infra', 'kubernetes', 'kubetags-rbac.yaml'), 'utf8')).map((o) => K8sObject.parse(o));
        assert.deepEqual(rules, Role.parse(find(manifest, 'ClusterRole', 'sightline-kubetags')).rules);
        const Binding = z.object({ subjects: z.array(z.object({ name: z.string(), namespace: z.string() })) });
        assert.equal(Binding.parse(find(objects, 'ClusterRoleBinding', `kt-kubetags-${ns}`)).subjects[0]?.namespace, ns);
        if (values) {
          assert.equal(cfg.backend.caFile, '/etc/kubetags/ca/ca.crt');
          assert.equal(cfg.batch.maxObjects, 200);
          assert.deepEqual(cfg.labelAllowList, ['app', 'team']);
          assert.equal(secretFile(find(objects, 'Secret', 'kt-kubetags-token'), 'token'), 'test-only-cluster-token');
          for (const k of ['ServiceMonitor', 'PodDisruptionBudget', 'NetworkPolicy']) assert.ok(objects.some((o) => o.kind === k), k);
        } else {
          // default: the token Secret is made out of band (kubectl create secret), never from values
          assert.ok(!objects.some((o) => o.kind === 'Secret'));
          assert.equal(cfg.backend.url, 'https://api.sightline.example.com');
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      await applyAll(objects, ns);
    });
  }
});

test('helm charts: the dry run refuses what it should (a misspelt field), so acceptance means something', { skip, timeout: 5 * 60_000 }, async () => {
  await withNamespace(async (ns) => {
    const kc = kubeConfig();
    const paths = kc.makeApiClient(ObjectPaths);
    const cm = render('kubetags', 'kt', ns).find((o) => o.kind === 'ConfigMap');
    assert.ok(cm);
    const ok = await dryRunCreate(kc, paths, { ...cm, metadata: { ...cm.metadata, namespace: ns } });
    assert.equal(ok.status, 201, ok.body);
    const bad = await dryRunCreate(kc, paths, { ...cm, metadata: { ...cm.metadata, namespace: ns }, dataa: { x: 'y' } });
    assert.equal(bad.status, 400, bad.body);
    assert.match(bad.body, /unknown field \\"dataa\\"/);
  });
});
