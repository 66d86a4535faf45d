// Reading a Kafka topic back in a test, up to its end offsets. A read bounded only by a timeout
// cannot tell a slow read (a cold broker, a busy machine, a slow group join) from a lost message:
// both come back short, and the assertion that follows blames the producer. Reading up to the
// end offsets the broker reports after the producer is done separates the two: a read that does
// not reach them in time fails as slow, naming the offsets reached and expected; a read that
// reached them holds everything the topic has, so a count that still falls short is a loss.
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { endpoints } from './endpoints.js';

export interface ReadMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * `admin.fetchTopicOffsets` waiting out a topic just created (NOT_LEADER_FOR_PARTITION and the
 * like for a moment on a KRaft broker; kafkajs gives up at once on it). The same as
 * `topicOffsets` of @sightline/bus, which this package cannot import (bus tests import testkit).
 */
export async function fetchOffsetsWhenServed(admin: kafkajs.Admin, topic: string, timeoutMs = 30_000): Promise<Awaited<ReturnType<kafkajs.Admin['fetchTopicOffsets']>>> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1_000)) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      if ((err as { retriable?: unknown }).retriable !== true || Date.now() + pause > deadline) throw err;
    }
    await new Promise((ok) => setTimeout(ok, pause));
  }
}

/** The end offset (high watermark) of every partition of `topic`, as the broker reports it now. */
export async function endOffsets(kafka: kafkajs.Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await fetchOffsetsWhenServed(admin, topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** "p0 12/40, p1 40/40": offsets reached of the end offsets, per partition. */
export function describeOffsets(reached: ReadonlyMap<number, bigint>, ends: ReadonlyMap<number, bigint>): string {
  return [...ends].sort(([a], [b]) => a - b).map(([p, end]) => `p${p} ${reached.get(p) ?? 0n}/${end}`).join(', ');
}

/** Raised when a read did not reach the end offsets in time: the read was slow, nothing is known lost. */
export class SlowReadError extends Error {
  constructor(readonly topic: string, readonly reached: ReadonlyMap<number, bigint>, readonly ends: ReadonlyMap<number, bigint>, ms: number, messages: number) {
    super(`reading ${topic} did not reach its end offsets within ${ms} ms (a slow read, not a loss): offsets reached/end ${describeOffsets(reached, ends)}; ${messages} messages read`);
    this.name = 'SlowReadError';
  }
}

/**
 * A throw-away consumer group reading `topic` from the beginning, keeping every message and the
 * offset reached per partition. `reach(ends, deadline)` waits until every partition is read up to
 * `ends`; the topic may grow meanwhile (a running producer): reach the new ends with another call.
 */
export class TopicReader {
  readonly messages: ReadMessage[] = [];
  /** per partition, the next offset to read: everything before it was delivered (or was a control record) */
  readonly reached = new Map<number, bigint>();
  private readonly kafka: kafkajs.Kafka;
  private readonly consumer: kafkajs.Consumer;
  private failed: unknown;
  private wake: (() => void) | undefined;

  private constructor(readonly topic: string, kafka?: kafkajs.Kafka, private readonly onMessage?: (m: ReadMessage) => void) {
    this.kafka = kafka ?? new kafkajs.Kafka({ clientId: 'sightline-test-reader', brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
    this.consumer = this.kafka.consumer({
      groupId: `sl-test-reader-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      sessionTimeout: 30_000, heartbeatInterval: 1000, allowAutoTopicCreation: false,
    });
  }

  /** `onMessage` sees each message as it arrives (a test that watches a live topic). */
  static async open(topic: string, kafka?: kafkajs.Kafka, onMessage?: (m: ReadMessage) => void): Promise<TopicReader> {
    const r = new TopicReader(topic, kafka, onMessage);
    await r.consumer.connect();
    try {
      await r.consumer.subscribe({ topic, fromBeginning: true });
      // a crash the consumer does not restart from is reported by reach(), not lost in a log
      r.consumer.on(r.consumer.events.CRASH, (e) => { if (!e.payload.restart) { r.failed = e.payload.error; r.wake?.(); } });
      await r.consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
            const msg: ReadMessage = { partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers };
            r.messages.push(msg);
            r.onMessage?.(msg);
          }
          // lastOffset() also counts what the batch filtered out (control records, compacted offsets)
          const next = BigInt(batch.lastOffset()) + 1n;
          if (next > (r.reached.get(batch.partition) ?? 0n)) r.reached.set(batch.partition, next);
          r.wake?.();
        },
      });
    } catch (err) {
      await r.consumer.disconnect().catch(() => undefined);
      throw err;
    }
    return r;
  }

  private done(ends: ReadonlyMap<number, bigint>): boolean {
    for (const [p, end] of ends) if ((this.reached.get(p) ?? 0n) < end) return false;
    return true;
  }

  /** The topic's end offsets now (after the producer is done, they are final). */
  async ends(): Promise<Map<number, bigint>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await fetchOffsetsWhenServed(admin, this.topic);
      // a partition whose messages all aged out delivers nothing: it is read up to its start
      for (const o of offsets) if (BigInt(o.low) > (this.reached.get(o.partition) ?? 0n)) this.reached.set(o.partition, BigInt(o.low));
      return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  /** Waits until every partition is read up to `ends`; throws SlowReadError at `deadline` (ms since epoch). */
  async reach(ends: ReadonlyMap<number, bigint>, deadline: number, startedAt = Date.now()): Promise<void> {
    while (!this.done(ends)) {
      if (this.failed !== undefined) throw new Error(`reading ${this.topic}: the consumer stopped: ${String(this.failed)}; offsets reached/end ${describeOffsets(this.reached, ends)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new SlowReadError(this.topic, this.reached, ends, Date.now() - startedAt, this.messages.length);
      // woken by each batch; the timer only bounds the wait
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, Math.min(left, 1000));
        this.wake = () => { clearTimeout(t); this.wake = undefined; ok(); };
      });
    }
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/**
 * Every message of `topic` as it is once its producer is done: its end offsets are fetched first,
 * then it is read until every partition reached them. `deadlineMs` bounds the read only (generous:
 * a slow read fails as SlowReadError, with the offsets reached); a test then compares what it
 * expected with a complete topic.
 */
export async function readToEnd(topic: string, opts: { deadlineMs?: number; kafka?: kafkajs.Kafka } = {}): Promise<ReadMessage[]> {
  const t0 = Date.now();
  const reader = await TopicReader.open(topic, opts.kafka);
  try {
    await reader.reach(await reader.ends(), t0 + (opts.deadlineMs ?? 120_000), t0);
    return reader.messages;
  } finally {
    await reader.close();
  }
}
