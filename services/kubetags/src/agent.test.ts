import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import kafkajs from 'kafkajs';
import {
  AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, Watch, loadAllYaml, setHeaderOptions,
  type V1ClusterRole, type V1PolicyRule, type V1Pod,
} from '@kubernetes/client-node';
import { endpoints } from '@sightline/testkit';
import { KubeMetaRecordSchema, type KubeMetaRecord } from '@sightline/kube-model';
import { ApiConfigSchema, ApiMetrics, createLogger as createApiLogger, hashToken, startApi, type ApiService } from '@sightline/api';
import { makeTestTls } from '@sightline/api/testing';
import { Agent } from './agent.js';
import { AgentConfigSchema } from './config.js';
import { createLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { HttpsTransport } from './transport.js';

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// Without a controller-manager a deleted namespace never finishes terminating: one shared
// namespace, objects named per run, each run deleting its own.
const NS = 'sightline-kubetags-test';

const isCode = (err: unknown, code: number) => typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
async function ignore409(p: Promise<unknown>): Promise<void> {
  try { await p; } catch (err) { if (!isCode(err, 409)) throw err; }
}
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Polls until `check` returns a value; fails with `what` and a hint of what was seen. */
async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, seen: () => string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; seen: ${seen()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Whether a cluster-wide pod watch from `rv` is refused as expired (410 Gone). A watch from an RV the
 * watch cache still covers replays the events since, so it answers at once with an event of another type.
 */
async function watchExpired(kc: KubeConfig, rv: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    let settled = false;
    let ctl: AbortController | undefined;
    const finish = (expired: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctl?.abort();
      resolve(expired);
    };
    const timer = setTimeout(() => finish(false), 5_000);
    new Watch(kc).watch('/api/v1/pods', { resourceVersion: rv },
      (type: string, obj: unknown) => finish(type === 'ERROR' && (obj as { code?: unknown }).code === 410),
      (err: unknown) => finish((err as { statusCode?: unknown } | null)?.statusCode === 410),
    ).then((c) => { ctl = c; if (settled) c.abort(); }, (err: unknown) => { clearTimeout(timer); reject(err); });
  });
}

/**
 * Makes `rv` genuinely expired for pod watches. Watches with a resourceVersion are served by the API
 * server's watch cache (etcd compaction does not matter to them), whose window starts at its initial
 * list: on a young cluster it reaches back to revision 1, so even "1" is not too old and is replayed.
 * The cache drops its oldest event only when it is full and that event is older than the events
 * history window (75 s; the server refuses anything lower); a full cache whose oldest event is fresh
 * doubles instead (up to 102400 events), and then every later run would need twice as many changes.
 * So: wait until every pod change made since `rv` (`lastChangeAt`) is older than the window, then
 * change a pod until a watch from `rv` gets 410 Gone, stopping at the first change that makes it so:
 * the changes after that (this test's, its cleanups') then evict stale events, never double the cache.
 * Returns how many changes it took.
 */
async function expirePodResourceVersion(kc: KubeConfig, rv: string, lastChangeAt: number, churn: (i: number) => Promise<V1Pod>): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  const wait = lastChangeAt + 80_000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  for (let i = 0; i <= 110_000; i++) {
    if (await watchExpired(kc, rv)) return i;
    const changed = await churn(i);
    // Served by the watch cache once it holds this change, so the next probe sees the cache after it.
    await core.listPodForAllNamespaces({ resourceVersion: changed.metadata!.resourceVersion!, resourceVersionMatch: 'NotOlderThan', limit: 1 });
  }
  throw new Error(`resourceVersion ${rv} still within the pod watch cache after 110000 changes`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function metricValue(m: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> }, labels: Record<string, string>): Promise<number> {
  const v = (await m.get()).values.find((x) => Object.entries(labels).every(([k, want]) => x.labels[k] === want));
  return v?.value ?? 0;
}

test('kubetags against the real API server: least-privilege RBAC, snapshot, deltas, watch cut and expired resourceVersion, through the ingest API to Kafka', { skip, timeout: 420_000 }, async (t) => {
  const run = randomBytes(4).toString('hex');
  const cluster = `kt-${run}`;
  const admin = new KubeConfig();
  admin.loadFromFile(endpoints().kubeconfig);
  const core = admin.makeApiClient(CoreV1Api);
  const apps = admin.makeApiClient(AppsV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const cleanups: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  // A resourceVersion from before everything this run does: it is made to expire later on.
  const oldRv = (await core.listPodForAllNamespaces({ limit: 1 })).metadata!.resourceVersion!;
  await ignore409(core.createNamespace({ body: { metadata: { name: NS } } }));
  await ignore409(core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'default' } } }));

  // --- the agent's identity: the ClusterRole exactly as shipped, bound to a fresh ServiceAccount
  const docs = loadAllYaml(readFileSync(path.join(REPO, 'infra/kubernetes/kubetags-rbac.yaml'), 'utf8')) as Array<{ kind?: string }>;
  const shipped = docs.find((d) => d.kind === 'ClusterRole') as V1ClusterRole;
  const rules = shipped.rules as V1PolicyRule[];
  assert.ok(rules.every((r) => [...r.verbs].sort().join(',') === 'get,list,watch'), 'the shipped ClusterRole grants get, list and watch only');
  const sa = `kubetags-${run}`;
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: sa } } });
  cleanups.push(() => core.deleteNamespacedServiceAccount({ name: sa, namespace: NS }));
  await rbac.createClusterRole({ body: { metadata: { name: sa }, rules } });
  cleanups.push(() => rbac.deleteClusterRole({ name: sa }));
  await rbac.createClusterRoleBinding({ body: { metadata: { name: sa }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: NS }] } });
  cleanups.push(() => rbac.deleteClusterRoleBinding({ name: sa }));
  const tr = await core.createNamespacedServiceAccountToken({ name: sa, namespace: NS, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const saToken = tr.status?.token;
  assert.ok(saToken, 'TokenRequest gave a token');
  const c0 = admin.getCurrentCluster()!;
  const agentKc = new KubeConfig();
  agentKc.loadFromOptions({
    clusters: [{ name: 'test', server: c0.server, caData: c0.caData, caFile: c0.caFile, skipTLSVerify: false }],
    users: [{ name: sa, token: saToken }],
    contexts: [{ name: 'test', cluster: 'test', user: sa }],
    currentContext: 'test',
  });
  const asAgent = agentKc.makeApiClient(CoreV1Api);
  await waitFor('the binding to take effect', async () => { try { await asAgent.listNode({ limit: 1 }); return true; } catch { return false; } }, () => 'list nodes refused');
  await assert.rejects(asAgent.createNamespacedPod({ namespace: NS, body: { metadata: { name: `x-${run}` }, spec: { containers: [{ name: 'a', image: 'x' }] } } }), (e: unknown) => isCode(e, 403), 'the agent cannot write');
  await assert.rejects(asAgent.listSecretForAllNamespaces({}), (e: unknown) => isCode(e, 403), 'the agent cannot read secrets');

  // --- cluster objects present before the agent starts
  const nodeName = `kt-${run}-node`;
  await core.createNode({ body: { metadata: { name: nodeName, labels: { 'topology.kubernetes.io/zone': 'us-east-1a', 'topology.kubernetes.io/region': 'us-east-1' } }, spec: { providerID: `aws:///us-east-1a/i-0${run}` } } });
  cleanups.push(() => core.deleteNode({ name: nodeName }));
  await core.patchNodeStatus({ name: nodeName, body: { status: { addresses: [{ type: 'InternalIP', address: '10.77.0.10' }, { type: 'Hostname', address: nodeName }] } } }, mergePatch);
  const rsName = `kt-${run}-web`;
  const rs = await apps.createNamespacedReplicaSet({ namespace: NS, body: {
    metadata: { name: rsName },
    spec: { replicas: 0, selector: { matchLabels: { app: rsName } }, template: { metadata: { labels: { app: rsName } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } } },
  } });
  cleanups.push(() => apps.deleteNamespacedReplicaSet({ name: rsName, namespace: NS }));
  const makePod = async (name: string) => {
    const p = await core.createNamespacedPod({ namespace: NS, body: {
      metadata: { name, labels: { app: rsName, secret_label: 'dropped' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata!.uid!, controller: true }] },
      spec: { nodeName, containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
    } });
    cleanups.push(() => core.deleteNamespacedPod({ name, namespace: NS, gracePeriodSeconds: 0 }));
    return p.metadata!.uid!;
  };
  const runPod = (name: string, ip: string) => core.patchNamespacedPodStatus({ name, namespace: NS, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: new Date() } } }, mergePatch);
  const podA = `kt-${run}-a`;
  const uidA = await makePod(podA);
  await runPod(podA, '10.244.77.1');
  const svc = await core.createNamespacedService({ namespace: NS, body: { metadata: { name: `kt-${run}` }, spec: { selector: { app: rsName }, ports: [{ port: 80 }] } } });
  cleanups.push(() => core.deleteNamespacedService({ name: `kt-${run}`, namespace: NS }));

  // --- backend: token file, TLS, Kafka topic of this run
  const tls = makeTestTls();
  cleanups.push(async () => tls.remove());
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetags-'));
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path.join(dir, 'token'), token + '\n');
  writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify({ clusters: [{ tokenSha256: hashToken(token), tenant: 'acme', cluster }] }));
  const port = await freePort();
  const prefix = `test-kubetags-${run}.`;

  // --- the agent starts while the backend is down: it lists, then retries with backoff
  let agentLogs = '';
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { agentLogs += c.toString(); cb(); } }) });
  const metrics = new AgentMetrics(false);
  const config = AgentConfigSchema.parse({
    cluster,
    backend: { url: `https://127.0.0.1:${port}`, tenant: 'acme', tokenFile: path.join(dir, 'token'), caFile: tls.caFile, timeoutMs: 5_000 },
    labelAllowList: ['app'],
    batch: { maxObjects: 50, flushMs: 100 },
    retry: { initialMs: 100, maxMs: 1_000 },
  });
  const agent = new Agent(config, { kc: agentKc, transport: new HttpsTransport(config.backend), log, metrics });
  await agent.start();
  cleanups.push(() => agent.stop());
  const E1 = agent.currentEpoch;
  await waitFor('the agent to retry while the backend is down', async () => (await metricValue(metrics.sent, { result: 'retry' })) >= 1, () => agentLogs.slice(-300));

  const api: ApiService = await startApi(
    ApiConfigSchema.parse({ listen: { port }, tls: { certFile: tls.certFile, keyFile: tls.keyFile }, tokensFile: path.join(dir, 'tokens.json'), kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: prefix } }),
    { log: createApiLogger({ level: 'silent' }), metrics: new ApiMetrics(false) },
  );
  cleanups.push(() => api.stop());
  const kafka = new kafkajs.Kafka({ clientId: `test-${run}`, brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const kadmin = kafka.admin();
  await kadmin.connect();
  cleanups.push(async () => { await kadmin.deleteTopics({ topics: [api.publisher.topic] }).catch(() => undefined); await kadmin.disconnect(); });
  const records: Array<{ key: string; value: KubeMetaRecord | null }> = [];
  const consumer = kafka.consumer({ groupId: `test-${run}` });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic: api.publisher.topic, fromBeginning: true });
  void consumer.run({ eachMessage: async ({ message }) => { records.push({ key: message.key?.toString() ?? '', value: message.value ? KubeMetaRecordSchema.parse(JSON.parse(message.value.toString())) : null }); } });
  const seen = () => `${records.length} records, last: ${records.slice(-4).map((r) => `${r.key}=${r.value?.type ?? 'tombstone'}`).join(', ')}; agent log: ${agentLogs.slice(-600)}`;
  const marker = (epochAbove: number) => waitFor(`a snapshot marker with epoch > ${epochAbove}`, () => {
    const m = records.find((r) => r.value?.type === 'snapshot' && r.value.epoch > epochAbove);
    return m?.value?.type === 'snapshot' ? m.value : undefined;
  }, seen);
  const upsertOf = (uid: string, epoch: number) => records.filter((r) => r.value?.type === 'upsert' && r.value.object.uid === uid && r.value.epoch === epoch).map((r) => r.value as Extract<KubeMetaRecord, { type: 'upsert' }>);

  // --- snapshot: every kind of object, reduced, with the epoch the marker completes
  const m1 = await marker(E1 - 1);
  assert.equal(m1.epoch, E1);
  assert.equal(m1.tenant, 'acme');
  const [pa] = upsertOf(uidA, E1);
  assert.ok(pa && pa.object.kind === 'Pod', seen());
  if (pa.object.kind === 'Pod') {
    assert.deepEqual([pa.object.podIPs, pa.object.phase, pa.object.node, pa.object.labels], [['10.244.77.1'], 'Running', nodeName, { app: rsName }]);
    assert.deepEqual(pa.object.ownerReferences.map((o) => `${o.kind}/${o.name}`), [`ReplicaSet/${rsName}`]);
  }
  const nodeRec = records.find((r) => r.value?.type === 'upsert' && r.value.object.kind === 'Node' && r.value.object.name === nodeName)?.value;
  assert.ok(nodeRec?.type === 'upsert' && nodeRec.object.kind === 'Node');
  if (nodeRec?.type === 'upsert' && nodeRec.object.kind === 'Node') {
    assert.deepEqual([nodeRec.object.zone, nodeRec.object.region, nodeRec.object.addresses], ['us-east-1a', 'us-east-1', [{ type: 'InternalIP', address: '10.77.0.10' }]]);
  }
  assert.equal(upsertOf(svc.metadata!.uid!, E1)[0]?.object.kind, 'Service');
  assert.equal(upsertOf(rs.metadata!.uid!, E1)[0]?.object.kind, 'ReplicaSet');
  assert.ok((await metricValue(metrics.nodes, { cloud: 'aws', zone: 'us-east-1a', region: 'us-east-1' })) >= 1, 'placement from providerID and topology labels');
  assert.ok(m1.objects >= 4 && records.filter((r) => r.value?.type === 'upsert' && r.value.epoch === E1).length === m1.objects, 'the marker counts every object of the snapshot');

  // --- deltas: created, status patched, an irrelevant status change skipped, deleted
  const podB = `kt-${run}-b`;
  const uidB = await makePod(podB);
  await waitFor('pod b created (Pending, no IP)', () => upsertOf(uidB, E1).find((u) => u.object.kind === 'Pod' && u.object.podIPs.length === 0), seen);
  await runPod(podB, '10.244.77.2');
  await waitFor('pod b running with its IP', () => upsertOf(uidB, E1).find((u) => u.object.kind === 'Pod' && u.object.podIPs[0] === '10.244.77.2' && u.object.phase === 'Running'), seen);
  const unchangedBefore = await metricValue(metrics.events, { kind: 'Pod', type: 'unchanged' });
  await core.patchNamespacedPodStatus({ name: podB, namespace: NS, body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } }, mergePatch);
  await waitFor('a condition-only change recognized as unchanged', async () => (await metricValue(metrics.events, { kind: 'Pod', type: 'unchanged' })) > unchangedBefore, seen);
  await core.deleteNamespacedPod({ name: podB, namespace: NS, gracePeriodSeconds: 0 });
  await waitFor('pod b deleted: a delete record with its time, then a tombstone', () => {
    const i = records.findIndex((r) => r.value?.type === 'delete' && r.value.uid === uidB);
    return i !== -1 && records[i + 1]?.key === records[i]!.key && records[i + 1]!.value === null;
  }, seen);
  const delB = records.find((r) => r.value?.type === 'delete' && r.value.uid === uidB)!.value!;
  assert.ok(delB.type === 'delete' && delB.epoch === E1 && Math.abs(Date.parse(delB.at) - Date.now()) < 60_000);

  // --- watch cut (lost connection): relist, fresh snapshot, deltas resume under the new epoch
  agent.cutWatch('Pod');
  const m2 = await marker(E1);
  assert.ok(await metricValue(metrics.gaps, { reason: 'lost-connection' }) >= 1);
  const E2 = m2.epoch;
  assert.ok(upsertOf(uidA, E2).length === 1, 'pod a is in the new snapshot');
  assert.equal(upsertOf(uidB, E2).length, 0, 'the deleted pod is not');
  const podC = `kt-${run}-c`;
  const uidC = await makePod(podC);
  await waitFor('a delta after the relist, under the new epoch', () => upsertOf(uidC, E2)[0], seen);
  const lastPodChangeAt = Date.now();

  // --- expired resourceVersion: resuming from an old one gets 410 Gone, then relist and snapshot
  const churned = await expirePodResourceVersion(admin, oldRv, lastPodChangeAt, (i) => core.patchNamespacedPod({ name: podA, namespace: NS, body: { metadata: { annotations: { 'sightline.test/churn': String(i) } } } }, mergePatch));
  t.diagnostic(`resourceVersion ${oldRv} expired from the pod watch cache after ${churned} changes`);
  assert.ok(await watchExpired(admin, oldRv), 'the old resourceVersion is refused with 410 Gone');
  const expiredBefore = await metricValue(metrics.gaps, { reason: 'expired' });
  agent.resumeWatchFrom('Pod', oldRv);
  const m3 = await marker(E2);
  assert.ok(await metricValue(metrics.gaps, { reason: 'expired' }) > expiredBefore, 'the 410 was seen as an expired resourceVersion');
  assert.equal(upsertOf(uidC, m3.epoch).length, 1);
  const podD = `kt-${run}-d`;
  const uidD = await makePod(podD);
  await waitFor('deltas after the second relist', () => upsertOf(uidD, m3.epoch)[0], seen);

  assert.ok(!agentLogs.includes(token) && !agentLogs.includes(saToken), 'no token in the agent logs');
  assert.match(agentLogs, /watch gap; relisting/);
});
