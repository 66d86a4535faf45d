import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { z } from 'zod';

/**
 * Durable discovery cursors, one per source, in a compacted Kafka topic.
 *
 * Why Kafka rather than the store: a checkpoint must advance only after Kafka acknowledged the
 * flows it covers, so keeping it in the same system makes the write ordering one system's
 * guarantee (acks=all on both), needs no store to be up for collection to go on, and lets a
 * collector that takes over a source after a rebalance read the dead owner's last cursor from
 * the same place it reads its work. Compaction keeps the latest cursor per source only.
 */

export const CheckpointValue = z.object({
  source: z.string().min(1),
  /** the Discovery's cursor, JSON as the source defines it */
  cursor: z.unknown(),
  /** what the cursor covers last (for humans): object key and version */
  last: z.string().optional(),
  at: z.string(),
  by: z.string(),
});
export type CheckpointValue = z.infer<typeof CheckpointValue>;

export class CheckpointStore {
  private readonly cursors = new Map<string, CheckpointValue>();

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    readonly topic: string,
    private readonly owner: string,
  ) {}

  get(source: string): unknown {
    return this.cursors.get(source)?.cursor;
  }

  /** Writes a source's cursor and resolves when Kafka acknowledged it (acks=all). */
  async commit(source: string, cursor: unknown, last?: string): Promise<void> {
    const value: CheckpointValue = { source, cursor, at: new Date().toISOString(), by: this.owner, ...(last !== undefined ? { last } : {}) };
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key: source, value: JSON.stringify(value) }] });
    this.cursors.set(source, value);
  }

  /**
   * Reads the topic to its end and keeps the latest cursor of each source. Called at start and
   * after every change of ownership, so a source taken over from a dead process resumes from the
   * last cursor that process wrote.
   */
  async load(timeoutMs = 60_000): Promise<number> {
    const latest = await readToEnd(this.kafka, this.topic, timeoutMs);
    for (const [key, text] of latest) {
      if (text === null) { this.cursors.delete(key); continue; }
      const r = CheckpointValue.safeParse(safeJson(text));
      // A record we cannot read is skipped, not fatal: the source then starts from its older cursor or the beginning (duplicates, never loss).
      if (r.success) this.cursors.set(key, r.data);
    }
    return latest.size;
  }
}

function safeJson(text: string): unknown {
  try { return JSON.parse(text); } catch { return undefined; }
}

/**
 * The latest value per key of a topic, read from the beginning to the high watermark seen at the
 * start. Uses a throw-away consumer group that commits nothing.
 */
export async function readToEnd(kafka: Kafka, topic: string, timeoutMs: number): Promise<Map<string, string | null>> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offs = await admin.fetchTopicOffsets(topic);
    ends = new Map(offs.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const out = new Map<string, string | null>();
  if (ends.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `sightline-collector-reader-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1000, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} to its end took more than ${timeoutMs} ms`)), timeoutMs);
      const done = () => { clearTimeout(timer); resolve(); };
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const key = message.key?.toString('utf8');
          if (key !== undefined) out.set(key, message.value === null ? null : message.value.toString('utf8'));
          const end = ends.get(partition);
          if (end !== undefined && BigInt(message.offset) + 1n >= end) ends.delete(partition);
          if (ends.size === 0) done();
        },
      }).catch((err: unknown) => { clearTimeout(timer); reject(err instanceof Error ? err : new Error(String(err))); });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
