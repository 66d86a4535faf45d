import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import kafkajs, { type ISocketFactory, type Kafka } from 'kafkajs';
import { endpoints } from '@sightline/testkit';
import { waitForTopics } from './ensure-topics.js';
import { idempotentProducer } from './producer.js';

// Against the real local broker. The fault is injected in the client's own socket (kafkajs'
// socketFactory): the produce request reaches the broker and is written, and its answer is thrown
// away with the connection, which is what a broker restart or a lost connection does to a producer.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const PRODUCE = 0;

interface Faults {
  /** answers of produce requests still to be thrown away, each with its connection */
  dropProduceAnswers: number;
  dropped: number;
}

function faultySockets(faults: Faults): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    let awaitingAnswer = false;
    const write = socket.write.bind(socket) as (chunk: Uint8Array | string, ...rest: unknown[]) => boolean;
    socket.write = ((chunk: Uint8Array | string, ...rest: unknown[]) => {
      // a request is one buffer: int32 size, int16 api key, ...
      if (faults.dropProduceAnswers > 0 && typeof chunk !== 'string' && chunk.length >= 6 && Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).readInt16BE(4) === PRODUCE) {
        faults.dropProduceAnswers--;
        awaitingAnswer = true;
      }
      return write(chunk, ...rest);
    }) as typeof socket.write;
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'data' && awaitingAnswer) {
        // the broker has answered, so it has the batch: the client never learns it
        awaitingAnswer = false;
        faults.dropped++;
        // as a reset connection does (kafkajs listens for 'error' and 'end', not 'close')
        socket.destroy(Object.assign(new Error('connection reset (injected by the test)'), { code: 'ECONNRESET' }));
        return true;
      }
      return emit(event, ...args);
    }) as typeof socket.emit;
    return socket;
  };
}

const client = (faults: Faults): Kafka => new kafkajs.Kafka({
  clientId: 'sightline-bus-producer-test',
  brokers: endpoints().kafkaBrokers,
  logLevel: kafkajs.logLevel.NOTHING,
  socketFactory: faultySockets(faults),
});

async function withTopic(kafka: Kafka, run: (topic: string) => Promise<void>): Promise<void> {
  const topic = `sl-producer-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false });
    await waitForTopics(admin, [topic]);
    await run(topic);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** Every value in the topic, read to its end offset. */
async function values(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const end = Number((await admin.fetchTopicOffsets(topic))[0]?.high ?? '0');
  await admin.disconnect();
  const out: string[] = [];
  if (end === 0) return out;
  const consumer = kafka.consumer({ groupId: `${topic}-read` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        out.push(message.value?.toString() ?? '');
        if (Number(message.offset) + 1 >= end) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

test('concurrent sends through a lost produce answer: every batch is in Kafka (kafkajs alone acknowledges one it dropped)', { skip, timeout: 180_000 }, async () => {
  const faults: Faults = { dropProduceAnswers: 0, dropped: 0 };
  const kafka = client(faults);
  await withTopic(kafka, async (topic) => {
    const producer = idempotentProducer(kafka, { allowAutoTopicCreation: false, retry: { initialRetryTime: 50, maxRetryTime: 500, retries: Number.MAX_SAFE_INTEGER } });
    await producer.connect();
    const sent: string[] = [];
    try {
      // Eight rounds: in each, the first request's answer is lost while a second send waits. Without
      // the one-send-at-a-time rule the second takes the rolled-back sequence whenever its retry
      // comes first (about half of the rounds) and is acknowledged as a duplicate of the first.
      for (let round = 0; round < 8; round++) {
        faults.dropProduceAnswers = 1;
        const batch = [`a${round}`, `b${round}`, `c${round}`];
        sent.push(...batch);
        await Promise.all(batch.map((v) => producer.send({ topic, acks: -1, messages: [{ value: v }] })));
      }
    } finally {
      await producer.disconnect();
    }
    assert.equal(faults.dropped, 8, 'every round lost one answer');
    const got = await values(kafka, topic);
    assert.deepEqual([...new Set(got)].sort(), [...sent].sort(), `every acknowledged message is in the topic (${got.length} messages read)`);
  });
});

test('a send that failed for good: the next send of the same size is written, not taken for its duplicate', { skip, timeout: 180_000 }, async () => {
  const faults: Faults = { dropProduceAnswers: 0, dropped: 0 };
  const kafka = client(faults);
  await withTopic(kafka, async (topic) => {
    // one retry, so a send whose answers are all lost fails, although the broker has its batch
    const producer = idempotentProducer(kafka, { allowAutoTopicCreation: false, retry: { initialRetryTime: 50, maxRetryTime: 200, retries: 1 } });
    await producer.connect();
    try {
      faults.dropProduceAnswers = 2;
      await assert.rejects(producer.send({ topic, acks: -1, messages: [{ value: 'first' }] }));
      assert.equal(faults.dropped, 2);
      await producer.send({ topic, acks: -1, messages: [{ value: 'second' }] });
    } finally {
      await producer.disconnect();
    }
    const got = await values(kafka, topic);
    assert.ok(got.includes('second'), `the send after the failure is in the topic: ${JSON.stringify(got)}`);
    assert.ok(got.includes('first'), 'the failed send was written by the broker (the fault kept only its answer)');
  });
});
