import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import {
  AppsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, loadAllYaml,
  type V1ClusterRole, type V1PolicyRule,
} from '@kubernetes/client-node';
import { Agent } from './agent.js';
import { createLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { HttpsTransport } from './transport.js';
import { NS, freePort, isCode, mergePatch, metricValue, prepareBackend, skip, testAgentConfig, testCluster, waitFor } from './testdata/harness.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// An expired resourceVersion (410 Gone) is provoked in relist.disruptive.test.ts, by restarting the API server.

test('kubetags against the real API server: least-privilege RBAC, snapshot, deltas, watch cut, through the ingest API to Kafka', { skip, timeout: 180_000 }, async (t) => {
  const { run, cluster, admin, core, cleanups } = await testCluster(t);
  const apps = admin.makeApiClient(AppsV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);

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
  let agentLogs = '';
  const backend = prepareBackend(run, cluster, cleanups, () => agentLogs);
  const token = backend.token;
  const port = await freePort();

  // --- the agent starts while the backend is down: it lists, then retries with backoff
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { agentLogs += c.toString(); cb(); } }) });
  const metrics = new AgentMetrics(false);
  const config = testAgentConfig(cluster, port, backend);
  const agent = new Agent(config, { kc: agentKc, transport: new HttpsTransport(config.backend), log, metrics });
  await agent.start();
  cleanups.push(() => agent.stop());
  const E1 = agent.currentEpoch;
  await waitFor('the agent to retry while the backend is down', async () => (await metricValue(metrics.sent, { result: 'retry' })) >= 1, () => agentLogs.slice(-300));

  const { records, seen, marker, upsertOf } = await backend.start(port);

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

  assert.ok(!agentLogs.includes(token) && !agentLogs.includes(saToken), 'no token in the agent logs');
  assert.match(agentLogs, /watch gap; relisting/);
});
