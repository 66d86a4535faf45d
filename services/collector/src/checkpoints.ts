import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { topicOffsets } from '@sightline/bus';
import type { Logger } from './log.js';
import { settlesWithin } from './startup.js';
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
   * Carries the cursor a source wrote under an older name (a name of a previous version, see
   * config.ts legacySourceIds) over to its current name, when the current name has none yet and
   * `fits` says the old record is this source's. Written under the new name at once, so the move
   * happens once even if nothing new is read. The old record is left as it is: a previous version
   * run again resumes from it (duplicates at worst, never loss). Returns the old name it came from.
   */
  async adopt(source: string, legacy: readonly string[], fits: (v: CheckpointValue) => boolean): Promise<string | undefined> {
    if (this.cursors.has(source)) return undefined;
    for (const old of legacy) {
      const v = this.cursors.get(old);
      if (v === undefined || !fits(v)) continue;
      await this.commit(source, v.cursor, v.last);
      return old;
    }
    return undefined;
  }

  /**
   * Reads the topic to its end and keeps the latest cursor of each source. Called at start and
   * after every change of ownership, so a source taken over from a dead process resumes from the
   * last cursor that process wrote.
   */
  async load(opts: Partial<ReadOptions> = {}): Promise<number> {
    const latest = await readToEnd(this.kafka, this.topic, { timeoutMs: 60_000, ...opts });
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

export interface ReadOptions {
  /** the whole read (group join included) may take this long */
  timeoutMs: number;
  /** abandons the read (start-up gave up on it) */
  signal?: AbortSignal;
  /** where a disconnect that overran is reported */
  log?: Logger;
  /** test hook: sees the reader's consumer before it connects (to act at a given point of its group join) */
  onConsumer?: (c: Consumer) => void;
}

/** How long a reader's disconnect may take before it is left behind (it never commits, so nothing is lost). */
const DISCONNECT_MS = 10_000;

/**
 * The latest value per key of a topic, read from the beginning to the high watermarks fetched at
 * the start (admin.fetchTopicOffsets), so the read has a known end and never waits for new records.
 *
 * kafkajs has no consumer without a group (tulios/kafkajs#853; manual assignment, #373, never
 * shipped), so the reader joins a group of its own (unique id, never commits, so it leaves no
 * offsets and bothers no other member). Its run is bounded by `timeoutMs`, and its disconnect by
 * DISCONNECT_MS: a kafkajs consumer stopped while its group join is in flight can keep going or
 * never settle (#967, #1639), and a hung disconnect must not hold the collector's start-up. A
 * short fetch wait keeps the disconnect quick (it waits for the fetch in flight, #1596).
 */
export async function readToEnd(kafka: Kafka, topic: string, opts: ReadOptions): Promise<Map<string, string | null>> {
  const { timeoutMs, signal, log } = opts;
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offs = await topicOffsets(admin, topic, timeoutMs);
    ends = new Map(offs.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    if (!(await settlesWithin(admin.disconnect(), DISCONNECT_MS))) log?.warn({ topic }, `reading ${topic}: admin disconnect took more than ${DISCONNECT_MS} ms; left behind`);
  }
  const out = new Map<string, string | null>();
  if (ends.size === 0) return out;
  signal?.throwIfAborted();
  const groupId = `sightline-collector-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  let joined = false;
  let read = 0;
  let running: Promise<void> | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
  opts.onConsumer?.(consumer);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const finish = (err?: Error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err); else resolve();
      };
      const where = () => joined
        ? `read ${read} records; partitions not at their end: ${[...ends].map(([p, end]) => `${p} (end ${end})`).join(', ')}`
        : `its consumer group ${groupId} was still joining`;
      const timer = setTimeout(() => finish(new Error(`reading ${topic} to its end took more than ${timeoutMs} ms: ${where()}`)), timeoutMs);
      const onAbort = () => finish(new Error(`reading ${topic} to its end abandoned: ${where()}`));
      if (signal?.aborted) { onAbort(); return; }
      signal?.addEventListener('abort', onAbort, { once: true });
      running = consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            read++;
            const key = message.key?.toString('utf8');
            if (key !== undefined) out.set(key, message.value === null ? null : message.value.toString('utf8'));
          }
          // lastOffset() also covers records the batch left out (compacted away, control records).
          const end = ends.get(batch.partition);
          if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) ends.delete(batch.partition);
          if (ends.size === 0) finish();
        },
      });
      running.catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
    });
  } finally {
    // A disconnect while run() is still joining returns at once, but the join goes on and the
    // consumer then fetches on its own for good (kafkajs #1639, seen here): let run() settle first.
    if (running && !(await settlesWithin(running, DISCONNECT_MS))) log?.warn({ topic, group: groupId }, `reading ${topic}: group join still in flight after ${DISCONNECT_MS} ms; disconnecting anyway`);
    if (!(await settlesWithin(consumer.disconnect(), DISCONNECT_MS))) {
      log?.warn({ topic, group: groupId, joined }, `reading ${topic}: consumer disconnect took more than ${DISCONNECT_MS} ms; left behind (it commits nothing)`);
    }
  }
  return out;
}
