import type { Delete, Envelope, Upsert } from '@sightline/kube-model';
import type { Logger } from './log.js';
import type { AgentMetrics } from './metrics.js';
import type { Transport } from './transport.js';

export interface SenderOptions {
  cluster: string;
  maxObjects: number;
  flushMs: number;
  maxQueued: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

type Delta = { upsert: Upsert; del?: undefined; rv: string } | { upsert?: undefined; del: Delete; rv: string };

/**
 * Delivers envelopes to the backend, one request at a time, in order: snapshot parts first, then
 * deltas batched (up to maxObjects, or after flushMs). Retries with capped exponential backoff and
 * jitter. A new snapshot supersedes everything still queued (it already holds their effect).
 * Deltas past maxQueued are dropped and onOverflow asks the agent for a snapshot of its current
 * state, so a long backend outage costs a bounded buffer, not the agent's memory.
 */
export class Sender {
  private parts: Envelope[] = [];
  private deltas: Delta[] = [];
  private firstDeltaAt = 0;
  private epoch = 0;
  /** bumped by every snapshot: a request of an older generation stops retrying */
  private generation = 0;
  private stopping = false;
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private lastOk = 0;
  private backingOff = false;
  /** what was delivered, by epoch, for tests and readiness */
  readonly delivered = { snapshots: 0, deltas: 0, lastCompleteEpoch: -1 };

  constructor(
    private readonly opts: SenderOptions,
    private readonly transport: Transport,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly onOverflow: () => void,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Sends what is queued (up to drainMs), then stops. */
  async stop(drainMs = 5_000): Promise<void> {
    this.stopping = true;
    this.wake();
    const t = setTimeout(() => {
      this.stopped = true;
      this.wake();
    }, drainMs);
    await this.loop;
    clearTimeout(t);
  }

  get queuedObjects(): number {
    return this.deltas.length;
  }

  /** seconds since the backend last accepted a request (Infinity before the first) */
  get sinceLastOk(): number {
    return this.lastOk === 0 ? Infinity : (Date.now() - this.lastOk) / 1000;
  }

  snapshot(epoch: number, parts: Envelope[]): void {
    this.epoch = epoch;
    this.generation += 1;
    if (this.deltas.length > 0) this.metrics.dropped.inc({ reason: 'superseded' }, this.deltas.length);
    this.deltas = [];
    this.parts = parts;
    this.metrics.queued.set(0);
    this.wake();
  }

  upsert(u: Upsert, rv: string): void {
    this.push({ upsert: u, rv });
  }

  delete(d: Delete, rv: string): void {
    this.push({ del: d, rv });
  }

  private push(d: Delta): void {
    if (this.deltas.length >= this.opts.maxQueued) {
      this.metrics.dropped.inc({ reason: 'overflow' }, this.deltas.length + 1);
      this.log.warn({ queued: this.deltas.length }, 'kubetags: delta buffer full while the backend does not accept; dropping deltas for a snapshot');
      this.deltas = [];
      this.metrics.queued.set(0);
      this.onOverflow();
      return;
    }
    if (this.deltas.length === 0) this.firstDeltaAt = Date.now();
    this.deltas.push(d);
    this.metrics.queued.set(this.deltas.length);
    // the first delta starts the flush timer; a full batch goes at once (not while backing off)
    if ((this.deltas.length === 1 || this.deltas.length >= this.opts.maxObjects) && !this.backingOff) this.wake();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** The next envelope to send, or how long to wait for one. */
  private next(): { env: Envelope; snapshot: boolean } | { wait: number } {
    const part = this.parts.shift();
    if (part) return { env: part, snapshot: true };
    if (this.deltas.length === 0) return { wait: 60_000 };
    const age = Date.now() - this.firstDeltaAt;
    if (this.deltas.length < this.opts.maxObjects && age < this.opts.flushMs && !this.stopping) return { wait: this.opts.flushMs - age };
    const batch = this.deltas.splice(0, this.opts.maxObjects);
    this.firstDeltaAt = Date.now();
    this.metrics.queued.set(this.deltas.length);
    const env: Envelope = {
      cluster: this.opts.cluster,
      resourceVersion: batch.at(-1)!.rv,
      sentAt: new Date().toISOString(),
      full: false,
      epoch: this.epoch,
      upserts: batch.flatMap((d) => (d.upsert ? [d.upsert] : [])),
      deletes: batch.flatMap((d) => (d.del ? [d.del] : [])),
    };
    return { env, snapshot: false };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const n = this.next();
      if ('wait' in n) {
        if (this.stopping) break;
        await this.sleep(n.wait);
        continue;
      }
      await this.deliver(n.env, n.snapshot);
    }
  }

  private async deliver(env: Envelope, snapshot: boolean): Promise<void> {
    const gen = this.generation;
    let delay = this.opts.retryInitialMs;
    for (let attempt = 1; !this.stopped; attempt++) {
      // A snapshot queued meanwhile holds this request's effect: stop retrying it.
      if (gen !== this.generation) return;
      let result: { status: number; message: string } | null = null;
      let failure = '';
      try {
        result = await this.transport.post(env);
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      const n = env.upserts.length + env.deletes.length;
      if (result && result.status >= 200 && result.status < 300) {
        this.lastOk = Date.now();
        this.metrics.sent.inc({ result: 'ok' });
        this.metrics.sentObjects.inc({ envelope: snapshot ? 'snapshot' : 'delta' }, n);
        this.metrics.lastSent.set(this.lastOk / 1000);
        if (snapshot) {
          this.delivered.snapshots += 1;
          if (env.part === undefined || env.part.last) {
            this.delivered.lastCompleteEpoch = env.epoch ?? 0;
            this.log.info({ epoch: env.epoch, objects: env.part?.total ?? n }, 'kubetags: snapshot delivered');
          }
        } else this.delivered.deltas += 1;
        return;
      }
      if (result && (result.status === 400 || result.status === 413 || result.status === 415)) {
        // The same bytes would be refused again: count and drop, the next snapshot repairs the state.
        this.metrics.sent.inc({ result: 'rejected' });
        this.metrics.dropped.inc({ reason: 'rejected' }, n);
        this.log.error({ status: result.status, reason: result.message, objects: n, full: env.full }, 'kubetags: backend rejected a request; dropped');
        return;
      }
      if (result?.status === 401 || result?.status === 403) {
        this.metrics.sent.inc({ result: 'unauthorized' });
        this.log.error({ status: result.status, reason: result.message, attempt }, 'kubetags: backend refused the cluster token; check the token Secret and the cluster name');
        if (result.status === 401) {
          try {
            this.transport.reloadToken();
          } catch (err) {
            this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'kubetags: token reload failed');
          }
        }
        delay = this.opts.retryMaxMs;
      } else {
        this.metrics.sent.inc({ result: 'retry' });
        this.log.warn({ status: result?.status, reason: result ? result.message : failure, attempt, retryInMs: delay }, 'kubetags: backend unavailable; retrying');
      }
      this.backingOff = true;
      await this.sleep(Math.round(delay * (0.5 + Math.random() / 2)));
      this.backingOff = false;
      delay = Math.min(delay * 2, this.opts.retryMaxMs);
    }
  }
}
