import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Envelope } from '@sightline/kube-model';
import { Agent } from './agent.js';
import { createLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { HttpsTransport, type PostResult, type Transport } from './transport.js';
import { freePort, metricValue, prepareBackend, skip, testAgentConfig, testCluster, waitFor } from './testdata/harness.js';

const DAY_AND_AN_HOUR_MS = 25 * 3_600_000;

/**
 * The real HTTPS transport, with envelopes built before `outageEndsAt` dated 25 h earlier: as if
 * the agent had queued them through a day-long outage of the backend. The real api service then
 * refuses them as stale, by its own clock.
 */
class OutageTransport implements Transport {
  outageEndsAt = Infinity;
  constructor(private readonly inner: HttpsTransport) {}
  post(env: Envelope): Promise<PostResult> {
    const built = Date.parse(env.sentAt);
    if (built >= this.outageEndsAt) return this.inner.post(env);
    return this.inner.post({ ...env, sentAt: new Date(built - DAY_AND_AN_HOUR_MS).toISOString() });
  }
  reloadToken(): void {
    this.inner.reloadToken();
  }
}

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const { run, cluster, admin, cleanups, makePod } = await testCluster(t);
  const logs = { text: '' };
  const backend = prepareBackend(run, cluster, cleanups, () => logs.text);
  const port = await freePort();
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { logs.text += c.toString(); cb(); } }) });
  const metrics = new AgentMetrics(false);
  const config = testAgentConfig(cluster, port, backend);
  return { run, cluster, admin, cleanups, makePod, logs, backend, port, log, metrics, config };
}

async function snapshotsQueued(metrics: AgentMetrics): Promise<number> {
  return (await metrics.snapshots.get()).values[0]?.value ?? 0;
}

/** Every watch gap the agent counted (expired, lost connection, watch error, buffer overflow). */
async function gapsTotal(metrics: AgentMetrics): Promise<number> {
  return (await metrics.gaps.get()).values.reduce((sum, v) => sum + v.value, 0);
}

test('an envelope refused as stale (400 sent-at) after a day-long backend outage is answered with a fresh snapshot, without a watch gap', { skip, timeout: 180_000 }, async (t) => {
  const s = await setup(t);
  const uidA = await s.makePod(`kt-${s.run}-a`);

  // the agent starts while the backend is down: its first snapshot waits in the retry loop
  const transport = new OutageTransport(new HttpsTransport(s.config.backend));
  const agent = new Agent(s.config, { kc: s.admin, transport, log: s.log, metrics: s.metrics });
  await agent.start();
  s.cleanups.push(() => agent.stop());
  const E1 = agent.currentEpoch;
  await waitFor('the agent to retry while the backend is down', async () => (await metricValue(s.metrics.sent, { result: 'retry' })) >= 1, () => s.logs.text.slice(-300));

  // the backend comes back "25 h later": what was built before is stale, what is built now is not
  transport.outageEndsAt = Date.now();
  const { records, seen, marker, upsertOf } = await s.backend.start(s.port);

  // the quiet cluster has no watch gap: only the refusal can bring a fresh snapshot
  const done = await waitFor('a complete snapshot delivered after the refusal', () => agent.sender.delivered.lastCompleteEpoch > E1 && agent.sender.delivered.lastCompleteEpoch, seen);
  const m = await marker(E1 - 1);
  assert.equal(m.epoch, done, 'the first marker the backend publishes is the fresh snapshot (the stale one was refused)');
  assert.ok(agent.currentEpoch > E1);
  assert.equal(records.filter((r) => r.value !== null && r.value.epoch === E1).length, 0, 'nothing of the stale snapshot was published');
  assert.equal(upsertOf(uidA, done).length, 1, `pod a is in the fresh snapshot; ${seen()}`);
  assert.equal(await metricValue(s.metrics.refusals, { code: 'sent-at', action: 'resync' }), 1);
  assert.equal(await metricValue(s.metrics.refusals, { code: 'sent-at', action: 'suppressed' }), 0);
  assert.ok((await metricValue(s.metrics.sent, { result: 'rejected' })) >= 1);
  assert.equal(await gapsTotal(s.metrics), 0, 'no watch gap was needed');
  assert.match(s.logs.text, /refused a stale or out-of-order request; dropped, sending a fresh snapshot/);

  // deltas carry on under the fresh epoch
  const uidB = await s.makePod(`kt-${s.run}-b`);
  await waitFor('a delta under the fresh epoch', () => upsertOf(uidB, done)[0], seen);
});

test('a fresh snapshot refused again (400 epoch: the backend holds a newer epoch of the cluster) asks for no further one', { skip, timeout: 180_000 }, async (t) => {
  const s = await setup(t);
  const { seen } = await s.backend.start(s.port);

  // another agent of the same cluster, with its clock a day ahead, already sent a later epoch
  const other = new HttpsTransport(s.config.backend);
  const ahead = await other.post({ cluster: s.cluster, resourceVersion: '1', sentAt: new Date().toISOString(), full: false, epoch: Date.now() + 86_400_000, upserts: [], deletes: [] });
  assert.equal(ahead.status, 200, ahead.message);

  const agent = new Agent(s.config, { kc: s.admin, transport: new HttpsTransport(s.config.backend), log: s.log, metrics: s.metrics });
  await agent.start();
  s.cleanups.push(() => agent.stop());
  const E1 = agent.currentEpoch;

  // the first snapshot is refused and answered with a fresh one, which is refused too
  await waitFor('a fresh snapshot queued after the refusal', async () => (await snapshotsQueued(s.metrics)) >= 2 && agent.currentEpoch > E1, seen);
  await waitFor('the fresh snapshot refused as well', async () => (await metricValue(s.metrics.refusals, { code: 'epoch', action: 'suppressed' })) >= 1, seen);

  // a fence: a delta after that is sent (and refused), so any further snapshot would have been queued before it
  const rejected = await metricValue(s.metrics.sent, { result: 'rejected' });
  await s.makePod(`kt-${s.run}-c`);
  await waitFor('a delta sent after the second refusal', async () => (await metricValue(s.metrics.sent, { result: 'rejected' })) > rejected, seen);
  assert.equal(await snapshotsQueued(s.metrics), 2, 'one fresh snapshot, no loop');
  assert.equal(await metricValue(s.metrics.refusals, { code: 'epoch', action: 'resync' }), 1);
  assert.equal(agent.sender.delivered.lastCompleteEpoch, -1, 'the backend accepted no snapshot');
  assert.equal(agent.sender.delivered.snapshots, 0);
  assert.equal(await gapsTotal(s.metrics), 0);
  assert.match(s.logs.text, /refused the fresh snapshot too/);
});
