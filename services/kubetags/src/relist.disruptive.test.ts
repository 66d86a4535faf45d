import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { endpoints } from '@sightline/testkit';
import { Agent } from './agent.js';
import { createLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { HttpsTransport } from './transport.js';
import {
  NS, expired, firstWatchAnswer, freePort, mergePatch, metricValue, prepareBackend, skip, testAgentConfig, testCluster, waitFor, type WatchAnswer,
} from './testdata/harness.js';

const exec = promisify(execFile);
const INFRA = path.join(endpoints().repoRoot, 'infra/local');

/**
 * Stops kube-apiserver only (etcd keeps running, with everything in it), with the project's own
 * scripts; under the service's lock, so a concurrent `infra.sh up` cannot start a second one.
 */
async function stopApiServer(): Promise<void> {
  await exec('bash', ['-c', 'set -e; source "$1"; source "$2"; svc_locked kubernetes stop_pid kubernetes', 'stop-apiserver',
    path.join(INFRA, 'lib.sh'), path.join(INFRA, 'services/kubernetes.sh')], { timeout: 60_000 });
}
/** Starts it again (a no-op when it answers): etcd answers, so only kube-apiserver is started. */
async function startApiServer(): Promise<void> {
  await exec('bash', [path.join(INFRA, 'infra.sh'), 'up', 'kubernetes'], { timeout: 180_000 });
}

/** etcd's own health endpoint: the restart must leave it alone. */
async function etcdHealthy(): Promise<boolean> {
  const port = process.env.SIGHTLINE_ETCD_PORT ?? '2379';
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await r.json()) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}

const describe = (a: WatchAnswer) => `${a.type}${a.code !== undefined ? ` ${a.code}` : ''}${a.message ? `: ${a.message}` : ''}`;

/**
 * A restarted kube-apiserver starts its watch cache from a fresh list of etcd, so every
 * resourceVersion from before the restart is older than the cache: a watch resumed from one is
 * refused with 410 Gone ("too old resource version"), as it is on a long-lived server once the
 * cache has moved past it. The agent must take that as a gap, relist, and send a snapshot of
 * the cluster as it is, then carry on with deltas. Only kube-apiserver is restarted; it is
 * brought back in `finally` whatever happens, since other tests need it.
 */
test('kube-apiserver restarted: a watch from an earlier resourceVersion gets 410 Gone, the agent relists and sends a fresh snapshot', { skip, timeout: 300_000 }, async (t) => {
  const { run, cluster, admin, core, cleanups, makePod } = await testCluster(t);

  const runPod = (name: string, ip: string) => core.patchNamespacedPodStatus({ name, namespace: NS, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: new Date() } } }, mergePatch);
  const podA = `kt-${run}-a`;
  const podB = `kt-${run}-b`;
  const uidA = await makePod(podA);
  await runPod(podA, '10.244.78.1');
  const uidB = await makePod(podB);

  // --- the agent (the admin's credentials: RBAC is agent.test.ts's business), backend, first snapshot
  let agentLogs = '';
  const backend = prepareBackend(run, cluster, cleanups, () => agentLogs);
  const port = await freePort();
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { agentLogs += c.toString(); cb(); } }) });
  const metrics = new AgentMetrics(false);
  const config = testAgentConfig(cluster, port, backend);
  const { records, seen, marker, upsertOf } = await backend.start(port);
  const agent = new Agent(config, { kc: admin, transport: new HttpsTransport(config.backend), log, metrics });
  await agent.start();
  cleanups.push(() => agent.stop());
  const m1 = await marker(0);
  assert.equal(upsertOf(uidA, m1.epoch).length, 1, 'pod a in the first snapshot');
  assert.equal(upsertOf(uidB, m1.epoch).length, 1, 'pod b in the first snapshot');

  // --- a resourceVersion from before the changes below; the running server still serves watches from it
  const oldRv = (await core.listPodForAllNamespaces({ limit: 1 })).metadata!.resourceVersion!;
  await core.deleteNamespacedPod({ name: podB, namespace: NS, gracePeriodSeconds: 0 });
  const podC = `kt-${run}-c`;
  const uidC = await makePod(podC);
  await runPod(podA, '10.244.78.11');
  await waitFor('the changes as deltas of the first epoch', () => upsertOf(uidC, m1.epoch).length === 1 && upsertOf(uidA, m1.epoch).some((u) => u.object.kind === 'Pod' && u.object.podIPs[0] === '10.244.78.11') && records.some((r) => r.value?.type === 'delete' && r.value.uid === uidB), seen);
  const before = await firstWatchAnswer(admin, oldRv);
  assert.ok(!expired(before) && before.type !== 'failed', `before the restart a watch from ${oldRv} is served from the watch cache (got ${describe(before)})`);

  // --- restart kube-apiserver, and only it
  assert.ok(await etcdHealthy(), 'etcd answers before the restart');
  let after: WatchAnswer = { type: 'none' };
  let etcdThrough = false;
  try {
    await stopApiServer();
    await assert.rejects(core.listNamespace({ limit: 1 }), 'the API server is down');
    etcdThrough = await etcdHealthy();
  } finally {
    await startApiServer();
  }
  assert.ok(etcdThrough, 'etcd kept running while kube-apiserver was down');
  // The pod watch cache may still be initializing right after /readyz (429 or 5xx meanwhile).
  after = await waitFor('a definite answer to a watch from the old resourceVersion', async () => {
    const a = await firstWatchAnswer(admin, oldRv);
    return a.code === 429 || (a.code ?? 0) >= 500 ? undefined : a;
  }, () => describe(after), 60_000);
  assert.ok(expired(after), `after the restart a watch from ${oldRv} is refused with 410 Gone (got ${describe(after)})`);
  assert.match(after.message ?? '', /too old resource version/);
  t.diagnostic(`watch from ${oldRv}: before the restart ${describe(before)}; after: ${describe(after)}`);

  // --- the agent lost its watches with the server: it relists once the server is back
  const m2 = await marker(m1.epoch);
  const gaps = (await metrics.gaps.get()).values.map((v) => `${String(v.labels.reason)}=${v.value}`);
  assert.ok(gaps.length > 0, 'the restart was seen as a gap');
  t.diagnostic(`the agent's gaps through the restart: ${gaps.join(', ')}`);

  // --- resuming from the old resourceVersion: 410, relist, a snapshot of the cluster as it is now
  const expiredBefore = await metricValue(metrics.gaps, { reason: 'expired' });
  const snapshotsBefore = (await metrics.snapshots.get()).values[0]?.value ?? 0;
  agent.resumeWatchFrom('Pod', oldRv);
  const m3 = await marker(m2.epoch);
  assert.ok(await metricValue(metrics.gaps, { reason: 'expired' }) > expiredBefore, `the 410 was taken as an expired resourceVersion: ${seen()}`);
  assert.ok(((await metrics.snapshots.get()).values[0]?.value ?? 0) > snapshotsBefore);
  assert.match(agentLogs, /"reason":"expired"[^\n]*too old resource version/, 'the gap names the API server\'s reason');
  const [a3] = upsertOf(uidA, m3.epoch);
  assert.ok(a3?.object.kind === 'Pod', `pod a in the fresh snapshot: ${seen()}`);
  if (a3?.object.kind === 'Pod') assert.deepEqual([a3.object.podIPs, a3.object.phase, a3.object.labels], [['10.244.78.11'], 'Running', { app: `kt-${run}` }], 'pod a as it is now');
  assert.equal(upsertOf(uidC, m3.epoch).length, 1, 'pod c (created after the old resourceVersion) in the fresh snapshot');
  assert.equal(upsertOf(uidB, m3.epoch).length, 0, 'pod b (deleted after it) is not');
  const inSnapshot = records.filter((r) => r.value?.type === 'upsert' && r.value.epoch === m3.epoch);
  assert.equal(inSnapshot.length, m3.objects, 'the marker counts every object of the snapshot');
  const ours = inSnapshot.filter((r) => r.value?.type === 'upsert' && r.value.object.kind === 'Pod' && r.value.object.namespace === NS && r.value.object.name.startsWith(`kt-${run}-`));
  assert.equal(ours.length, 2, 'exactly this run\'s two live pods');

  // --- deltas go on under the new epoch
  const podD = `kt-${run}-d`;
  const uidD = await makePod(podD);
  await waitFor('a delta after the relist, under the new epoch', () => upsertOf(uidD, m3.epoch)[0], seen);
  assert.ok(!agentLogs.includes(backend.token), 'no token in the agent logs');
});
