import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { z } from 'zod';
import type { KubeMetaState } from '@sightline/attribution';
import { topicOffsets } from '@sightline/bus';
import { KubeMetaRecordSchema, type KubeMetaRecord } from '@sightline/kube-model';
import { errField, type Logger } from './log.js';
import type { EnricherMetrics } from './metrics.js';

/**
 * Reads the whole kube-meta topic, from the beginning, into the attribution state, and keeps
 * tailing it. Every enricher needs all of it (flows of any cluster may land on any partition of
 * the flows topic), so this is not a shared group: each process uses a group of its own and never
 * commits, which makes it start at the beginning of every partition on every start.
 */
export class MetaConsumer {
  /** next offset to apply, per partition */
  private readonly positions = new Map<number, bigint>();
  private waiters: (() => void)[] = [];
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    readonly topic: string,
    private readonly state: KubeMetaState,
    private readonly log: Logger,
    private readonly metrics: EnricherMetrics,
  ) {}

  async start(): Promise<void> {
    const groupId = `sightline-enricher-meta-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 8 * 1_048_576 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const records: KubeMetaRecord[] = [];
        for (const m of batch.messages) {
          if (m.value === null) continue; // tombstone: the delete record before it carried the time
          const parsed = parseRecord(m.value);
          if (!parsed.ok) {
            this.metrics.metaBadRecords.inc();
            this.log.warn({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key?.toString() ?? null, problem: parsed.problem }, 'kube-meta record skipped: invalid');
            continue;
          }
          records.push(parsed.record);
        }
        this.state.applyAll(records);
        for (const r of records) this.metrics.metaRecords.inc({ type: r.type });
        const next = BigInt(batch.lastOffset()) + 1n;
        if (next > (this.positions.get(batch.partition) ?? 0n)) this.positions.set(batch.partition, next);
        this.notify();
      },
    });
  }

  /** Resolves true once every record written to the topic before the call is applied, false after `timeoutMs`. */
  async waitCaughtUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let target: Map<number, bigint>;
    for (;;) {
      try {
        target = await this.endOffsets();
        break;
      } catch (err) {
        // the broker's metadata can miss a topic for a moment (just created, leader moving): retry within the bound
        if (Date.now() + 250 > deadline) return false;
        this.log.warn({ topic: this.topic, err: errField(err) }, 'kube-meta end offsets unavailable, retrying');
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    for (;;) {
      if (this.reached(target)) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done() { clearTimeout(t); resolve(); }
        this.waiters.push(done);
      });
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.notify();
  }

  private reached(target: Map<number, bigint>): boolean {
    let behind = false;
    for (const [p, end] of target) {
      const lag = end - (this.positions.get(p) ?? 0n);
      this.metrics.metaLag.set({ partition: String(p) }, Number(lag > 0n ? lag : 0n));
      if (lag > 0n) behind = true;
    }
    return !behind;
  }

  /**
   * End offsets fetched now, not cached nor shared: a wait must cover every record written before
   * it began. A fetch is one loopback round trip against a store write of hundreds of ms per batch.
   */
  private async endOffsets(): Promise<Map<number, bigint>> {
    const offs = await topicOffsets(this.admin, this.topic);
    // A compacted partition whose log starts past 0 still ends at `high`; an empty one has high == low.
    return new Map(offs.map((o) => [o.partition, BigInt(o.high) > BigInt(o.low) ? BigInt(o.high) : 0n]));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

type Parsed = { ok: true; record: KubeMetaRecord } | { ok: false; problem: string };

function parseRecord(value: Buffer): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, problem: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const r = KubeMetaRecordSchema.safeParse(json);
  if (!r.success) return { ok: false, problem: z.prettifyError(r.error) };
  return { ok: true, record: r.data };
}

