import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CompressionTypes, Kafka, Partitioners, logLevel } from 'kafkajs';
import { endpoints } from '@sightline/testkit';

// Kafka 3.9 (KRaft) started by `pnpm infra:up kafka`. The broker does not auto-create topics, so the
// test creates its own, as services do through @sightline/bus ensureTopics().
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

test('kafka: idempotent gzip producer, consumer group reads every message back in partition order', { skip }, async () => {
  const kafka = new Kafka({ clientId: 'sightline-smoke', brokers: endpoints().kafkaBrokers, logLevel: logLevel.WARN });
  const topic = `smoke-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `${topic}-g`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true }), true);

    // Keys spread over partitions; within one key, order must survive the round trip.
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}`, headers: { seq: String(i) } }));
    await producer.connect();
    const acks = await producer.send({ topic, compression: CompressionTypes.GZIP, acks: -1, messages: sent });
    assert.ok(acks.length > 0, 'the producer got at least one partition ack');
    assert.ok(acks.every((a) => a.errorCode === 0), `produce acks: ${JSON.stringify(acks)}`);

    const got: Array<{ partition: number; key: string; value: string; seq: string }> = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kafka smoke: consumed ${got.length}/${sent.length} messages of ${topic} within 30 s`)), 30_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.push({ partition, key: String(message.key), value: String(message.value), seq: String(message.headers?.seq) });
          if (got.length === sent.length) { clearTimeout(timer); resolve(); }
        },
      });
    });
    await done;

    assert.deepEqual(got.map((m) => m.value).sort(), sent.map((m) => m.value).sort());
    for (const k of new Set(sent.map((m) => m.key))) {
      const forKey = got.filter((m) => m.key === k);
      assert.equal(new Set(forKey.map((m) => m.partition)).size, 1, `key ${k} stays on one partition`);
      const seqs = forKey.map((m) => Number(m.seq));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `key ${k} is read in produce order`);
    }
    assert.ok(new Set(got.map((m) => m.partition)).size > 1, 'five keys land on more than one of three partitions');

    // Offsets committed by the group are what a restarted consumer resumes from.
    await consumer.stop();
    const offsets = await admin.fetchOffsets({ groupId: `${topic}-g`, topics: [topic] });
    const committed = offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
    assert.equal(committed, sent.length);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
