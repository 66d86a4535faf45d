import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';

const size = z.string().regex(/^\d+(\.\d+)?\s*[KMGT]i?B$/i, 'a size such as 1GB');

/**
 * What one query may take, and how many may run: the `query.limits` config block. Defaults fit the
 * 2-core machine a small deployment runs on; every key is optional.
 */
export const QueryLimitsSchema = z
  .strictObject({
    /**
     * Queries running at once over every tenant. The engine shares its threads between these, so
     * more only slows each one down; the DuckDB runner opens at least this many connections.
     */
    concurrent: z.number().int().min(1).max(256).default(4),
    /**
     * Queries one tenant may have running at once: below `concurrent`, so one tenant never holds
     * every slot. 1 by default: each query already spreads over the engine's threads, and a second
     * heavy query of the same tenant only takes CPU from the others' (measured with the benchmark
     * on DuckDB: another tenant's cheap query 1.6x its idle latency with 1, 8.3x with 2).
     */
    perTenant: z.number().int().min(1).max(256).default(1),
    /** Queries one tenant may have waiting for a slot (a dashboard's panels); one more answers 429. */
    queuePerTenant: z.number().int().min(0).max(10_000).default(32),
    /** The 429's `Retry-After`, seconds. */
    retryAfterSeconds: z.number().int().min(1).max(3600).default(1),
    duckdb: z
      .strictObject({
        /**
         * DuckDB's buffer memory for the runner's database (`memory_limit`; DuckDB has no per-query
         * limit, so the instance's is the one there is). A query over it fails (422) instead of
         * taking the machine. In one process with the writer both must open the file with the same value.
         */
        memoryLimit: size.default('1GB'),
      })
      .prefault({}),
    clickhouse: z
      .strictObject({
        /** `max_memory_usage` of each query, bytes (the server's default is 10 GB). */
        maxMemoryUsage: z.number().int().min(1 << 20).default(2 * 1024 ** 3),
        /** `max_rows_to_read` of each query; 0: no limit. */
        maxRowsToRead: z.number().int().min(0).default(2_000_000_000),
        /** `read_overflow_mode`: throw (422) or break (answer from the rows read so far: partial, so not the default). */
        readOverflowMode: z.enum(['throw', 'break']).default('throw'),
        /**
         * `max_threads` of each query. `auto` (default): half the server's own default (its cores),
         * at least 1, so one tenant's heavy query leaves the other half to every other tenant
         * (with the server's default a query takes every core; `bench:query` measured another
         * tenant's cheap query 2.7x its idle latency then, 1.5x with half). 0: the server's.
         */
        maxThreads: z.union([z.literal('auto'), z.number().int().min(0).max(1024)]).default('auto'),
      })
      .prefault({}),
  })
  .refine((l) => l.perTenant <= l.concurrent, { message: 'perTenant must not exceed concurrent', path: ['perTenant'] });
export type QueryLimits = z.output<typeof QueryLimitsSchema>;

/** A tenant's queue is full: the server answers 429 with Retry-After. */
export class QueryRejected extends Error {
  constructor(
    readonly tenant: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`too many queries of this tenant running or waiting; retry after ${retryAfterSeconds} s`);
  }
}

/** The client closed its connection before the answer: nobody is left to answer. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before the answer');
  }
}

/**
 * What the limiter and the runners did, for tests and logs: `admitted` carries how many queries
 * of other tenants were waiting at that moment; `dropped` is a waiting query that left the queue
 * without running (client gone or deadline); `cancelled` a running statement stopped in the engine
 * (DuckDB interrupt, ClickHouse KILL QUERY), `stopped` when the engine confirmed it (DuckDB:
 * `interrupted` when the statement ended by the interrupt, false when it had finished anyway).
 */
export type QueryEvent =
  | { type: 'admitted'; tenant: string; othersWaiting: number; waited: boolean }
  | { type: 'queued'; tenant: string; waiting: number }
  | { type: 'rejected'; tenant: string }
  | { type: 'dropped'; tenant: string; reason: 'client-gone' | 'deadline' }
  | { type: 'cancelled'; tenant: string; reason: 'client-gone' | 'deadline'; queryId?: string | undefined }
  | { type: 'stopped'; tenant: string; queryId?: string | undefined; interrupted?: boolean | undefined }
  | { type: 'released'; tenant: string };

/** Why a signal was aborted, in the events' words. */
export function abortReason(reason: unknown): 'client-gone' | 'deadline' {
  return reason instanceof ClientGone ? 'client-gone' : 'deadline';
}

interface Waiter {
  tenant: string;
  admit: (release: () => void) => void;
}

class LimiterMetrics {
  readonly admissions: Counter<'outcome'>;
  readonly cancelled: Counter<'reason'>;
  readonly running: Gauge;
  readonly waiting: Gauge;
  constructor(registry: Registry) {
    // no tenant label: /metrics must not list the tenants
    this.admissions = new Counter({ name: 'sightline_api_query_admissions_total', help: 'queries by admission outcome: admitted (at once or after waiting), queued, rejected (429), dropped (left the queue unrun)', labelNames: ['outcome'], registers: [registry] });
    this.cancelled = new Counter({ name: 'sightline_api_query_cancelled_total', help: 'running statements stopped in the engine, by reason (client-gone, deadline)', labelNames: ['reason'], registers: [registry] });
    this.running = new Gauge({ name: 'sightline_api_queries_running', help: 'queries holding a slot', registers: [registry] });
    this.waiting = new Gauge({ name: 'sightline_api_queries_waiting', help: 'queries waiting for a slot', registers: [registry] });
  }
}

/**
 * Admission of queries: at most `perTenant` running per tenant and `concurrent` in all, the rest
 * waiting in a bounded queue per tenant. A freed slot goes to the waiting tenant with the fewest
 * queries running (ties in turn, round-robin), not to the oldest query, so a tenant with 200
 * waiting holds up another tenant's query only until the first slot frees. A waiting query whose signal aborts (client gone,
 * deadline) leaves the queue without running.
 */
export class QueryLimiter {
  private readonly running = new Map<string, number>();
  private readonly queues = new Map<string, Waiter[]>();
  /** tenants with a waiting query, in turn order; `turn` is the index of the next one to serve */
  private ring: string[] = [];
  private turn = 0;
  private total = 0;
  private readonly listeners = new Set<(e: QueryEvent) => void>();
  private readonly metrics: LimiterMetrics | undefined;

  constructor(
    readonly limits: QueryLimits,
    registry?: Registry,
  ) {
    this.metrics = registry ? new LimiterMetrics(registry) : undefined;
  }

  /** Listens to every event; returns the function that stops listening. */
  on(listener: (e: QueryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: QueryEvent): void {
    if (e.type === 'cancelled') this.metrics?.cancelled.inc({ reason: e.reason });
    for (const l of this.listeners) l(e);
  }

  /** Queries running now and waiting now (all tenants, or one). */
  stats(tenant?: string): { running: number; waiting: number } {
    if (tenant !== undefined) return { running: this.running.get(tenant) ?? 0, waiting: this.queues.get(tenant)?.length ?? 0 };
    let waiting = 0;
    for (const q of this.queues.values()) waiting += q.length;
    return { running: this.total, waiting };
  }

  /**
   * Resolves with the release function once the query may run; rejects with QueryRejected when the
   * tenant's queue is full, or with the signal's reason when it aborts while waiting.
   */
  acquire(tenant: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const own = this.queues.get(tenant);
    if ((own === undefined || own.length === 0) && this.total < this.limits.concurrent && (this.running.get(tenant) ?? 0) < this.limits.perTenant) {
      const release = this.take(tenant);
      this.metrics?.admissions.inc({ outcome: 'admitted' });
      this.emit({ type: 'admitted', tenant, othersWaiting: this.waitingExcept(tenant), waited: false });
      return Promise.resolve(release);
    }
    if ((own?.length ?? 0) >= this.limits.queuePerTenant) {
      this.metrics?.admissions.inc({ outcome: 'rejected' });
      this.emit({ type: 'rejected', tenant });
      return Promise.reject(new QueryRejected(tenant, this.limits.retryAfterSeconds));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const q = this.queues.get(tenant);
        const i = q?.indexOf(w) ?? -1;
        if (q === undefined || i === -1) return;
        q.splice(i, 1);
        if (q.length === 0) this.forget(tenant);
        this.metrics?.admissions.inc({ outcome: 'dropped' });
        this.metrics?.waiting.dec();
        this.emit({ type: 'dropped', tenant, reason: abortReason(signal.reason) });
        reject(signal.reason as Error);
      };
      const w: Waiter = {
        tenant,
        admit: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let q = this.queues.get(tenant);
      if (q === undefined) {
        q = [];
        this.queues.set(tenant, q);
        this.ring.push(tenant);
      }
      q.push(w);
      this.metrics?.admissions.inc({ outcome: 'queued' });
      this.metrics?.waiting.inc();
      this.emit({ type: 'queued', tenant, waiting: q.length });
    });
  }

  private waitingExcept(tenant: string): number {
    let n = 0;
    for (const [t, q] of this.queues) if (t !== tenant) n += q.length;
    return n;
  }

  private take(tenant: string): () => void {
    this.total++;
    this.running.set(tenant, (this.running.get(tenant) ?? 0) + 1);
    this.metrics?.running.inc();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.total--;
      const n = (this.running.get(tenant) ?? 1) - 1;
      if (n === 0) this.running.delete(tenant);
      else this.running.set(tenant, n);
      this.metrics?.running.dec();
      this.emit({ type: 'released', tenant });
      this.pump();
    };
  }

  private forget(tenant: string): void {
    this.queues.delete(tenant);
    const i = this.ring.indexOf(tenant);
    if (i === -1) return;
    this.ring.splice(i, 1);
    if (i < this.turn) this.turn--;
    if (this.turn >= this.ring.length) this.turn = 0;
  }

  /**
   * Hands free slots to waiting queries: to the waiting tenant with the fewest queries running,
   * ties in turn (round-robin), so a tenant with a long queue gets a slot only after the others had theirs.
   */
  private pump(): void {
    while (this.total < this.limits.concurrent && this.ring.length > 0) {
      let pick = -1;
      let fewest = Infinity;
      for (let k = 0; k < this.ring.length; k++) {
        const i = (this.turn + k) % this.ring.length;
        const n = this.running.get(this.ring[i]!) ?? 0;
        if (n < this.limits.perTenant && n < fewest) {
          pick = i;
          fewest = n;
        }
      }
      if (pick === -1) return;
      const tenant = this.ring[pick]!;
      const q = this.queues.get(tenant)!;
      const w = q.shift()!;
      this.turn = pick + 1;
      if (q.length === 0) this.forget(tenant);
      else if (this.turn >= this.ring.length) this.turn = 0;
      const release = this.take(tenant);
      this.metrics?.admissions.inc({ outcome: 'admitted' });
      this.metrics?.waiting.dec();
      this.emit({ type: 'admitted', tenant, othersWaiting: this.waitingExcept(tenant), waited: true });
      w.admit(release);
    }
  }
}
