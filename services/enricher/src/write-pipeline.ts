import type { BatchMeta, FlowBatch } from '@sightline/flow';

/**
 * The store side of the enricher, decoupled from the consumer: attributed batches queue here in
 * consumption order while the previous write is still at the store, are written several at a time
 * (one store call for up to `writeRows` rows), and each write is followed by one offset commit per
 * partition it touched. Within a lane (a share of the partitions) writes happen one at a time and
 * in queue order, so a commit never passes a message whose batch the store has not confirmed: a
 * process killed anywhere leaves the group's offsets before every unconfirmed batch, and the
 * store drops what it already has on the re-read.
 */

/** One flows message: its offset, and the batch to write (none for a message that was skipped). */
export interface PendingMessage {
  partition: number;
  offset: string;
  item?: { meta: BatchMeta; batch: FlowBatch } | undefined;
}

export interface WriteTarget {
  /** writes the batches, answering in order; false is a batch the store already had */
  write(items: { meta: BatchMeta; batch: FlowBatch }[]): Promise<{ written: boolean }[]>;
  /** commits `offset` (the next message to read) per partition */
  commit(offsets: { partition: number; offset: string }[]): Promise<void>;
  /** after each confirmed write, before its commit */
  onWritten(items: { meta: BatchMeta; batch: FlowBatch }[], results: { written: boolean }[]): void;
  onError(what: 'write' | 'commit', err: unknown, attempt: number): void;
  /** rows queued or being written, after every change (a gauge follows it down to 0 when all is confirmed) */
  onPending?(rows: number): void;
}

export interface WritePipelineOptions {
  /** rows per store write (a write takes at least one batch) */
  writeRows: number;
  /** rows queued or being written before `push` waits: the memory bound of the pipeline */
  pendingRows: number;
  /** first retry delay after a failed write; doubles up to 30 s */
  retryMs?: number;
  /** writes at the store at the same time, each for its own share of the partitions (default 1) */
  lanes?: number;
}

export class WritePipeline {
  private readonly lanes: Lane[];
  private pendingRows = 0;
  private closing = false;
  private readonly space: (() => void)[] = [];

  constructor(private readonly target: WriteTarget, private readonly opts: WritePipelineOptions) {
    const freed = (rows: number): void => {
      this.pendingRows -= rows;
      target.onPending?.(this.pendingRows);
      for (const s of this.space.splice(0)) s();
    };
    this.lanes = Array.from({ length: Math.max(1, opts.lanes ?? 1) }, () => new Lane(target, opts, freed));
  }

  /** rows queued or being written */
  get rows(): number {
    return this.pendingRows;
  }

  /**
   * Queues a message (in partition order). Waits while the pipeline holds `pendingRows` rows,
   * calling `whileWaiting` every second (the consumer's heartbeat).
   */
  async push(m: PendingMessage, whileWaiting: () => Promise<void> = async () => undefined): Promise<void> {
    while (this.pendingRows >= this.opts.pendingRows && !this.closing) {
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, 1000);
        this.space.push(() => { clearTimeout(t); ok(); });
      });
      await whileWaiting();
    }
    this.pendingRows += m.item?.batch.length ?? 0;
    this.target.onPending?.(this.pendingRows);
    this.lanes[m.partition % this.lanes.length]!.push(m);
  }

  /** Resolves once everything queued so far is written and committed (or abandoned by `close`). */
  async drained(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.drained()));
  }

  /** Writes what is queued, but gives up (leaving it uncommitted) at the first failure. */
  async close(): Promise<void> {
    this.closing = true;
    for (const s of this.space.splice(0)) s();
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}

/**
 * One writer: its messages are written in queue order, one write at a time. Lanes split the
 * partitions (partition modulo lanes), so each partition's commits stay in order, and a batch
 * id, which the collector always publishes under the same key and so to the same partition,
 * is never in two writes at once.
 */
class Lane {
  private readonly queue: PendingMessage[] = [];
  private running: Promise<void> | undefined;
  private closing = false;
  private wake: (() => void) | undefined;
  private idle: (() => void)[] = [];

  constructor(private readonly target: WriteTarget, private readonly opts: WritePipelineOptions, private readonly freed: (rows: number) => void) {}

  push(m: PendingMessage): void {
    this.queue.push(m);
    this.kick();
  }

  drained(): Promise<void> {
    if (this.queue.length === 0 && this.running === undefined) return Promise.resolve();
    return new Promise<void>((ok) => this.idle.push(ok));
  }

  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    await this.drained();
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.kick();
      else for (const ok of this.idle.splice(0)) ok();
    });
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      let rows = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || rows + (this.queue[n]!.item?.batch.length ?? 0) <= this.opts.writeRows)) {
        rows += this.queue[n]!.item?.batch.length ?? 0;
        n++;
      }
      const group = this.queue.slice(0, n);
      if (!(await this.writeGroup(group))) {
        // closing after a failure: the rest stays unwritten and uncommitted for the next owner
        const left = this.queue.reduce((a, m) => a + (m.item?.batch.length ?? 0), 0);
        this.queue.length = 0;
        this.freed(left);
        return;
      }
      this.queue.splice(0, n);
      this.freed(rows);
    }
  }

  private async writeGroup(group: PendingMessage[]): Promise<boolean> {
    const items = group.flatMap((m) => (m.item ? [m.item] : []));
    if (items.length > 0) {
      for (let attempt = 1; ; attempt++) {
        try {
          const results = await this.target.write(items);
          this.target.onWritten(items, results);
          break;
        } catch (err) {
          this.target.onError('write', err, attempt);
          if (this.closing) return false;
          await this.sleep(Math.min(30_000, (this.opts.retryMs ?? 500) * 2 ** (attempt - 1)));
        }
      }
    }
    // the queue is in consumption order, so the last message of each partition is its commit point
    const next = new Map<number, string>();
    for (const m of group) next.set(m.partition, (BigInt(m.offset) + 1n).toString());
    try {
      await this.target.commit([...next].map(([partition, offset]) => ({ partition, offset })));
    } catch (err) {
      // the next write's commit carries these offsets too; a crash before it re-reads batches the store drops
      this.target.onError('commit', err, 1);
    }
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((ok) => {
      const t = setTimeout(() => { this.wake = undefined; ok(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = undefined; ok(); };
    });
  }
}
