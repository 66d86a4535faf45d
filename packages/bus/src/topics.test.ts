import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusTopicsConfig, TopicSpec, topicSpecs } from './topics.js';

test('default topics: names, partitions, cleanup policies and retention', () => {
  const t = topicSpecs();
  assert.deepEqual(Object.values(t).map((s) => s.name), ['sightline.flows', 'sightline.kube-meta', 'sightline.dead-letter']);
  assert.equal(t.flows.partitions, 6);
  assert.equal(t.flows.configs['retention.ms'], String(48 * 3_600_000));
  assert.equal(t.flows.configs['compression.type'], 'producer');
  assert.equal(t.kubeMeta.configs['cleanup.policy'], 'compact');
  assert.equal(t.kubeMeta.configs['min.compaction.lag.ms'], String(24 * 3_600_000));
  assert.equal(t.deadLetter.configs['cleanup.policy'], 'delete');
  assert.ok(Number(t.deadLetter.configs['retention.ms']) > Number(t.flows.configs['retention.ms']), 'dead letters outlive flows');
  for (const s of Object.values(t)) assert.equal(TopicSpec.safeParse(s).success, true);
});

test('configuration overrides reach the specs', () => {
  const t = topicSpecs({ prefix: 'tenant-a.', replicationFactor: 3, minInsyncReplicas: 2, flows: { partitions: 24, retentionHours: 6 } });
  assert.equal(t.flows.name, 'tenant-a.flows');
  assert.equal(t.flows.partitions, 24);
  assert.equal(t.flows.configs['retention.ms'], String(6 * 3_600_000));
  assert.equal(t.kubeMeta.partitions, 3, 'untouched sections keep their defaults');
  assert.ok(Object.values(t).every((s) => s.replicationFactor === 3 && s.configs['min.insync.replicas'] === '2'));
});

test('invalid configuration is rejected with the path of the bad field', () => {
  const bad = [
    [{ flows: { partitions: 0 } }, 'flows.partitions'],
    [{ prefix: 'bad prefix/' }, 'prefix'],
    [{ replicationFactor: 1, minInsyncReplicas: 2 }, 'minInsyncReplicas'],
    [{ deadLetter: { retentionHours: -1 } }, 'deadLetter.retentionHours'],
  ] as const;
  for (const [input, where] of bad) {
    const r = BusTopicsConfig.safeParse(input);
    assert.equal(r.success, false, JSON.stringify(input));
    assert.ok(r.error!.issues.some((i) => i.path.join('.') === where), `${JSON.stringify(input)} is reported at ${where}`);
    assert.throws(() => topicSpecs(input as never));
  }
  // A prefix that makes an over-long name is caught on the resulting spec.
  assert.throws(() => topicSpecs({ prefix: 'x'.repeat(245) }), /topic flows .* is invalid/s);
});
