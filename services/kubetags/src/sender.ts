import type { Delete, Envelope, Upsert } from '@sightline/kube-model';
import type { Logger } from './log.js';
import type { AgentMetrics } from './metrics.js';
import type { PostResult, Transport } from './transport.js';

/**
 * Refusals a fresh snapshot answers: `sent-at` (the envelope waited in the queue longer than the
 * backend's window, e.g. through a day-long outage) and `epoch` (the backend already has a newer
 * epoch of this cluster). Retrying the same bytes cannot help, a new snapshot with a new epoch and
 * a fresh sentAt can; any other 400 is a payload fault a snapshot would repeat.
 */
export const RESYNC_CODES: ReadonlySet<string> = new Set(['sent-at', 'epoch']);

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
 * An envelope the backend refuses as stale or out of order (RESYNC_CODES) is dropped and onResync
 * asks the agent for a fresh snapshot, at most once per generation; a snapshot queued that way
 * that is refused again before the backend accepted anything of it asks for none (no loop).
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
  /** set while onResync runs: the snapshot it queues answers a refusal */
  private resyncing = false;
  /** the current generation was queued in answer to a refusal */
  private bornOfRefusal = false;
  /** the backend accepted a request of the current generation */
  private acceptedInGeneration = false;
  /** the last generation whose refusal asked for a snapshot */
  private resyncedGeneration = -1;
  /** what was delivered, by epoch, for tests and readiness */
  readonly delivered = { snapshots: 0, deltas: 0, lastCompleteEpoch: -1 };

  constructor(
    private readonly opts: SenderOptions,
    private readonly transport: Transport,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly onOverflow: () => void,
    /** asks for a fresh snapshot of the agent's state (new epoch, fresh sentAt) after a refusal */
    private readonly onResync: (code: string) => void = onOverflow,
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
    this.bornOfRefusal = this.resyncing;
    this.acceptedInGeneration = false;
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

  /**
   * A stale (`sent-at`) or out-of-order (`epoch`) envelope, already dropped and counted: the
   * backend's view may now miss it and, on a quiet cluster, nothing else would send a snapshot
   * until the next watch gap. So ask for one, once per generation; not when the refused envelope
   * belongs to a snapshot that itself answered a refusal and nothing of it was accepted since,
   * because then the backend refuses the fresh state too (clock skew, a newer epoch from another
   * agent) and asking again would loop.
   */
  private refused(code: string, message: string, env: Envelope, gen: number, objects: number): void {
    const at = { code, reason: message, objects, full: env.full, epoch: env.epoch, sentAt: env.sentAt };
    if (gen !== this.generation || this.resyncedGeneration === gen) {
      // a newer snapshot is already queued: it holds this envelope's effect
      this.log.warn(at, 'kubetags: backend refused a superseded request; dropped');
      return;
    }
    if (this.bornOfRefusal && !this.acceptedInGeneration) {
      this.metrics.refusals.inc({ code, action: 'suppressed' });
      // the snapshot's other parts carry the same epoch and sentAt: they would be refused alike
      const rest = this.parts.reduce((sum, p) => sum + p.upserts.length, 0);
      if (env.full && rest > 0) this.metrics.dropped.inc({ reason: 'rejected' }, rest);
      if (env.full) this.parts = [];
      this.log.error(at, 'kubetags: backend refused the fresh snapshot too; dropped, no further snapshot until the next gap (check the agent clock and that one agent runs per cluster)');
      return;
    }
    if (this.stopping) {
      this.metrics.refusals.inc({ code, action: 'suppressed' });
      this.log.warn(at, 'kubetags: backend refused a request while stopping; dropped');
      return;
    }
    this.resyncedGeneration = gen;
    this.metrics.refusals.inc({ code, action: 'resync' });
    this.log.warn(at, 'kubetags: backend refused a stale or out-of-order request; dropped, sending a fresh snapshot');
    this.resyncing = true;
    try {
      this.onResync(code);
    } finally {
      this.resyncing = false;
    }
  }

  private async deliver(env: Envelope, snapshot: boolean): Promise<void> {
    const gen = this.generation;
    let delay = this.opts.retryInitialMs;
    for (let attempt = 1; !this.stopped; attempt++) {
      // A snapshot queued meanwhile holds this request's effect: stop retrying it.
      if (gen !== this.generation) return;
      let result: PostResult | null = null;
      let failure = '';
      try {
        result = await this.transport.post(env);
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      const n = env.upserts.length + env.deletes.length;
      if (result && result.status >= 200 && result.status < 300) {
        this.lastOk = Date.now();
        if (gen === this.generation) this.acceptedInGeneration = true;
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
        if (result.status === 400 && result.code !== null && RESYNC_CODES.has(result.code)) {
          this.refused(result.code, result.message, env, gen, n);
          return;
        }
        this.log.error({ status: result.status, code: result.code, reason: result.message, objects: n, full: env.full }, 'kubetags: backend rejected a request; dropped');
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
