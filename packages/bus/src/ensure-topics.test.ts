import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { endpoints } from '@sightline/testkit';
import { TopicMismatchError, ensureTopics, topicOffsets, waitForTopics } from './ensure-topics.js';
import { topicSpecs } from './topics.js';

const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

// Against the real broker of `pnpm infra:up kafka`; each test uses its own topic prefix.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

async function withAdmin(fn: (admin: kafkajs.Admin, prefix: string) => Promise<void>): Promise<void> {
  const kafka = new Kafka({ clientId: 'sightline-bus-test', brokers: endpoints().kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const prefix = `test-${Date.now()}-${randomBytes(3).toString('hex')}.`;
  try {
    await fn(admin, prefix);
  } finally {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  }
}

test('ensureTopics creates the missing topics with their configs, then finds them in place', { skip }, async () => {
  await withAdmin(async (admin, prefix) => {
    const specs = Object.values(topicSpecs({ prefix }));
    const first = await ensureTopics(admin, specs);
    assert.deepEqual(first.created.sort(), specs.map((s) => s.name).sort());
    assert.deepEqual(first.mismatches, []);

    const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) });
    assert.deepEqual(
      Object.fromEntries(topics.map((t) => [t.name, t.partitions.length])),
      Object.fromEntries(specs.map((s) => [s.name, s.partitions])),
    );
    const cfg = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: `${prefix}kube-meta`, configNames: ['cleanup.policy', 'min.compaction.lag.ms'] }],
    });
    assert.deepEqual(
      Object.fromEntries(cfg.resources[0]!.configEntries.map((e) => [e.configName, e.configValue])),
      { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': String(24 * 3_600_000) },
    );

    const second = await ensureTopics(admin, specs);
    assert.deepEqual(second, { created: [], existing: specs.map((s) => s.name), mismatches: [] });
  });
});

test('ensureTopics reports a topic that exists with other partitions and configs, and leaves it alone', { skip }, async () => {
  await withAdmin(async (admin, prefix) => {
    const spec = topicSpecs({ prefix }).kubeMeta;
    // Someone created it by hand: 2 partitions, broker defaults (cleanup.policy=delete).
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: spec.name, numPartitions: 2, replicationFactor: 1 }] });
    await waitForTopics(admin, [spec.name]);

    await assert.rejects(ensureTopics(admin, [spec]), (err: unknown) => {
      assert.ok(err instanceof TopicMismatchError);
      assert.match(err.message, new RegExp(`${spec.name.replace(/\./g, '\\.')}: partitions is 2, spec says 3`));
      return true;
    });

    const report = await ensureTopics(admin, [spec], { onMismatch: 'report' });
    assert.deepEqual(report.created, []);
    const byWhat = Object.fromEntries(report.mismatches.map((m) => [m.what, [m.actual, m.expected]]));
    assert.deepEqual(byWhat['partitions'], ['2', '3']);
    assert.deepEqual(byWhat['config:cleanup.policy'], ['delete', 'compact']);
    assert.equal(byWhat['replicationFactor'], undefined);

    const { topics } = await admin.fetchTopicMetadata({ topics: [spec.name] });
    assert.equal(topics[0]!.partitions.length, 2, 'the existing topic was not altered');
  });
});

test('ensureTopics rejects an invalid spec before touching the broker', { skip }, async () => {
  await withAdmin(async (admin, prefix) => {
    const spec = { ...topicSpecs({ prefix }).flows, partitions: 0 };
    await assert.rejects(ensureTopics(admin, [spec]), /spec #0 \(.*flows\) is invalid/);
    assert.equal((await admin.listTopics()).some((t) => t.startsWith(prefix)), false);
  });
});

// CI saw createTopics({ waitForLeaders: true }) fail with UNKNOWN_TOPIC_OR_PARTITION right after
// creating (kafkajs retries LEADER_NOT_AVAILABLE only). Creating and using many topics at once
// gives that window its chances; ensureTopics must come back with every topic usable.
test('ensureTopics: many topics created at once are each ready (metadata with leaders) when it returns', { skip }, async () => {
  await withAdmin(async (admin, prefix) => {
    const specs = Array.from({ length: 12 }, (_, i) => ({ ...topicSpecs({ prefix: `${prefix}${i}.` }).flows, partitions: 2 }));
    const report = await ensureTopics(admin, specs);
    assert.equal(report.created.length, 12);
    const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) });
    assert.equal(topics.length, 12);
    for (const t of topics) assert.ok(t.partitions.every((p) => p.leader >= 0), `${t.name} has a leader for each partition`);
  });
});

test('waitForTopics: a topic that never comes is named when the wait ends', { skip }, async () => {
  await withAdmin(async (admin, prefix) => {
    await assert.rejects(waitForTopics(admin, [`${prefix}never`], 300), new RegExp(`topics ${prefix.replace(/\./g, '\\.')}never not ready within 300 ms`));
  });
});

test('topicOffsets: right after a create (no wait for leaders) it answers once the topic is served; a topic that never comes fails by the deadline', { skip }, async () => {
  await withAdmin(async (admin, prefix) => {
    const names = Array.from({ length: 6 }, (_, i) => `${prefix}fresh-${i}`);
    await admin.createTopics({ waitForLeaders: false, topics: names.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })) });
    for (const n of names) assert.deepEqual((await topicOffsets(admin, n)).map((o) => [o.partition, o.high]).sort(), [[0, '0'], [1, '0'], [2, '0']]);
    // kafkajs retries an unknown topic itself, then gives up: that error comes through
    await assert.rejects(topicOffsets(admin, `${prefix}never`, 300), /does not host this topic-partition/);
  });
});
