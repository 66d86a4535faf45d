import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { endpoints } from './endpoints.js';
import { SlowReadError, TopicReader, readToEnd } from './kafka-read.js';

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

async function topicWith(messages: number): Promise<{ kafka: kafkajs.Kafka; topic: string; drop(): Promise<void> }> {
  const kafka = new kafkajs.Kafka({ clientId: 'testkit-read-test', brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const topic = `sl-testkit-read-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < messages; i += 500) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(500, messages - i) }, (_, j) => ({ key: `k${(i + j) % 7}`, value: String(i + j) })) });
  }
  await producer.disconnect();
  return { kafka, topic, drop: async () => { await admin.deleteTopics({ topics: [topic] }).catch(() => undefined); await admin.disconnect(); } };
}

test('readToEnd: every message up to the end offsets, each once; an empty topic reads as empty', { skip, timeout: 120_000 }, async () => {
  const t = await topicWith(2000);
  try {
    const got = await readToEnd(t.topic, { kafka: t.kafka });
    assert.equal(got.length, 2000);
    assert.deepEqual(new Set(got.map((m) => m.value?.toString())).size, 2000, 'no message twice');
    const reader = await TopicReader.open(t.topic, t.kafka);
    try {
      const ends = await reader.ends();
      assert.equal([...ends.values()].reduce((a, b) => a + b, 0n), 2000n);
      await reader.reach(ends, Date.now() + 60_000);
      assert.equal(reader.messages.length, 2000);
    } finally {
      await reader.close();
    }
  } finally {
    await t.drop();
  }
  const empty = await topicWith(0);
  try {
    assert.deepEqual(await readToEnd(empty.topic, { kafka: empty.kafka }), []);
  } finally {
    await empty.drop();
  }
});

test('TopicReader.reach: end offsets not reached by the deadline fail as slow, naming the offsets reached and expected', { skip, timeout: 60_000 }, async () => {
  const t = await topicWith(300);
  const reader = await TopicReader.open(t.topic, t.kafka);
  try {
    const ends = await reader.ends();
    await reader.reach(ends, Date.now() + 60_000);
    // one partition expected 5 further than the broker holds: these can never arrive in time
    const beyond = new Map(ends);
    beyond.set(1, ends.get(1)! + 5n);
    await assert.rejects(reader.reach(beyond, Date.now() + 1500), (err: unknown) => {
      assert.ok(err instanceof SlowReadError, String(err));
      assert.match(err.message, /did not reach its end offsets within \d+ ms \(a slow read, not a loss\): offsets reached\/end p0 \d+\/\d+, p1 \d+\/\d+, p2 \d+\/\d+; 300 messages read/);
      assert.ok(err.message.includes(`p1 ${ends.get(1)}/${ends.get(1)! + 5n}`), err.message);
      return true;
    });
  } finally {
    await reader.close();
    await t.drop();
  }
});
