// Reads a topic from its beginning up to the end offsets it has when the read starts: a slow read
// then reports itself as slow, and a missing message as missing (not as a short count).
import kafkajs from 'kafkajs';
import { endpoints, fetchOffsetsWhenServed } from '@sightline/testkit';
import { uniqueName } from './harness.js';

export async function readTopicToEnd<T>(topic: string, decode: (value: Buffer, key: string, partition: number, offset: string) => T, timeoutMs = 30_000): Promise<T[]> {
  const kafka = new kafkajs.Kafka({ clientId: 'collector-test-reader', brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    ends = new Map((await fetchOffsetsWhenServed(admin, topic)).filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const out: T[] = [];
  if (ends.size === 0) return out;
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 250 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} to its end took more than ${timeoutMs} ms: partitions not at their end: ${[...ends].map(([p, e]) => `${p} (end ${e})`).join(', ')}`)), timeoutMs);
      consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) if (m.value !== null) out.push(decode(m.value, m.key?.toString() ?? '', batch.partition, m.offset));
          const end = ends.get(batch.partition);
          if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) ends.delete(batch.partition);
          if (ends.size === 0) { clearTimeout(timer); resolve(); }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
