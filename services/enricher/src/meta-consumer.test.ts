import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { KubeMetaState } from '@sightline/attribution';
import { MetaConsumer } from './meta-consumer.js';
import { EnricherMetrics } from './metrics.js';
import { createTopics, deleteTopics, kafka, kubeMeta, publish, publishKubeMeta, skipInfra, uniqueName } from './testdata/harness.js';

const log = pino({ level: process.env.SIGHTLINE_LOG_LEVEL ?? 'warn' }, pino.destination(2));

test('waitCaughtUp: true once what the topic held is applied, false when the bound passes first', { skip: skipInfra, timeout: 120_000 }, async () => {
  const prefix = `${uniqueName('meta')}.`;
  const topics = await createTopics(prefix);
  const client = kafka();
  const admin = client.admin();
  await admin.connect();
  const state = new KubeMetaState();
  const metrics = new EnricherMetrics(false);
  const mc = new MetaConsumer(client, admin, topics.kubeMeta, state, log, metrics);
  try {
    await publishKubeMeta(topics.kubeMeta, kubeMeta('acme', 'eks-prod'));
    // not consuming yet: the records are in the topic, nothing applied, so the wait runs out
    const t0 = Date.now();
    assert.equal(await mc.waitCaughtUp(1500), false);
    assert.ok(Date.now() - t0 >= 1400, 'waited for its bound');

    await mc.start();
    assert.equal(await mc.waitCaughtUp(60_000), true);
    assert.deepEqual(state.clusters('acme'), ['eks-prod'], 'the records were applied before it returned');
    assert.equal(state.stats.snapshots, 2);

    // a record that is not a kube-meta record is skipped and counted; later records still apply
    await publish(topics.kubeMeta, [{ key: 'acme/eks-other/Pod/x', value: Buffer.from('{"type":"upsert"}') }]);
    await publishKubeMeta(topics.kubeMeta, kubeMeta('globex', 'eks-globex'));
    assert.equal(await mc.waitCaughtUp(60_000), true);
    assert.deepEqual(state.clusters('globex'), ['eks-globex']);
    assert.equal(state.clusters('acme').length, 1, 'the bad record created nothing');
    const bad = await metrics.registry.getSingleMetricAsString('sightline_enricher_kube_meta_bad_records_total');
    assert.match(bad, /sightline_enricher_kube_meta_bad_records_total 1$/m);
  } finally {
    await mc.stop();
    await admin.disconnect();
    await deleteTopics(prefix);
  }
});
