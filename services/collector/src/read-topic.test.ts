import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { waitForTopics } from '@sightline/bus';
import { endpoints } from '@sightline/testkit';
import { readTopic, skipInfra, uniqueName } from './testdata/harness.js';

/**
 * The helper every collector test reads Kafka with. A cold run once failed "every flow once:
 * 19177 !== 20000" after exactly the helper's 30 s timeout: a slow read came back short and read as
 * a loss. The helper reads up to the end offsets: a slow read is reported as slow (SlowReadError,
 * see packages/testkit/src/kafka-read.test.ts), and a short count is then a real loss.
 */
test('readTopic: reads up to the end offsets whatever its wait for the producer; a missing message is missing', { skip: skipInfra, timeout: 180_000 }, async () => {
  const kafka = new kafkajs.Kafka({ clientId: 'collector-read-test', brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const topic = uniqueName('read');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: false });
    await waitForTopics(admin, [topic]);
    const producer = kafka.producer({ idempotent: true, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < 3000; i += 500) await producer.send({ topic, acks: -1, messages: Array.from({ length: 500 }, (_, j) => ({ key: `k${(i + j) % 11}`, value: String(i + j) })) });
    await producer.disconnect();
    const num = (v: Buffer) => Number(v.toString());

    // a wait for the producer shorter than the read itself: the read still goes to the end offsets
    const all = await readTopic(topic, num, (got) => got.length >= 3000, 1);
    assert.equal(all.length, 3000, 'the whole topic, not what a 1 ms wait happened to see');
    assert.equal(new Set(all).size, 3000);

    // asking for more than the topic holds: after the wait, the complete topic comes back (the caller's count then shows the loss)
    const short = await readTopic(topic, num, (got) => got.length >= 3001, 1500);
    assert.equal(short.length, 3000);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
