import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import {
  openStore,
  type ClickHouseStore,
  type DuckDBStore,
  type AggregateQuery,
  type AggregateResult,
  type StoreConfigInput,
  type FlowListQuery,
  type FlowListResult,
  type FlowStore,
  type QueryOptions,
  type TimeSeriesQuery,
  type TimeSeriesResult,
  type TopNQuery,
  type TopNResult,
} from '@sightline/store';
import type { QueryConfig } from './config.js';
import { abortReason, QueryLimiter, QueryLimitsSchema, type QueryLimits } from './query-limiter.js';

/** The store's connection, typed through the store (the api does not depend on the driver). */
type DuckDBConnection = Parameters<Parameters<DuckDBStore['withConnection']>[0]>[0];

/** A query that did not answer by its deadline; the server answers 504. */
export class QueryTimeout extends Error {
  constructor(readonly limitMs: number) {
    super(`the query did not finish within its time limit of ${limitMs} ms; narrow the range, add filters or use a coarser resolution`);
  }
}

/** A query stopped by a per-query limit (memory, rows read); the server answers 422. */
export class QueryTooLarge extends Error {
  constructor(what: string) {
    super(`the query went over its ${what} limit; narrow the range, add filters or use a coarser resolution`);
  }
}

/** When and why a query stops: its deadline (epoch ms) and the client's signal (aborted with ClientGone). */
export interface QueryContext {
  deadline: number;
  /** the time limit, for the 504's message */
  limitMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Runs store reads for the query API: admission through the limiter (per-tenant and global
 * slots, 429 past the queue), then the read under the deadline and the client's signal; either
 * one stops the statement in the engine, and the slot is freed only once the engine has stopped.
 */
export interface QueryRunner {
  readonly engine: FlowStore['engine'];
  readonly limiter: QueryLimiter;
  timeSeries(tenant: string, q: TimeSeriesQuery, ctx: QueryContext): Promise<TimeSeriesResult>;
  topN(tenant: string, q: TopNQuery, ctx: QueryContext): Promise<TopNResult>;
  aggregate(tenant: string, q: AggregateQuery, ctx: QueryContext): Promise<AggregateResult>;
  listFlows(tenant: string, q: FlowListQuery, ctx: QueryContext): Promise<FlowListResult>;
  close(): Promise<void>;
}

/**
 * The engine's part of one admitted read: resolves or rejects when the statement has ended in
 * the engine. `stop` aborts when the deadline passes or the client leaves; the engine then stops
 * the statement (and only settles once it has).
 */
type EngineRead<T> = (stop: AbortSignal) => Promise<T>;

/**
 * Admission, deadline and client signal around one engine read. The caller gets its answer (or
 * 504, or the client-gone error) as soon as the stop signal fires; the slot is released when the
 * engine's read settles, so the next query never runs beside a statement still being stopped.
 */
async function limited<T>(limiter: QueryLimiter, tenant: string, ctx: QueryContext, read: EngineRead<T>): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new QueryTimeout(ctx.limitMs)), Math.max(0, ctx.deadline - Date.now()));
  const onClient = () => ac.abort(ctx.signal?.reason);
  if (ctx.signal?.aborted) ac.abort(ctx.signal.reason);
  else ctx.signal?.addEventListener('abort', onClient, { once: true });
  const stopped = new Promise<never>((_, reject) => {
    if (ac.signal.aborted) reject(ac.signal.reason as Error);
    else ac.signal.addEventListener('abort', () => reject(ac.signal.reason as Error), { once: true });
  });
  stopped.catch(() => undefined);
  try {
    const release = await limiter.acquire(tenant, ac.signal);
    const work = (async () => {
      try {
        return await read(ac.signal);
      } finally {
        release();
      }
    })();
    work.catch(() => undefined);
    return await Promise.race([work, stopped]);
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', onClient);
  }
}

const TOO_LARGE: [RegExp, string][] = [
  [/Out of Memory Error|MEMORY_LIMIT_EXCEEDED|Memory limit \(for query\) exceeded/i, 'memory'],
  [/TOO_MANY_ROWS|Limit for rows (to read )?exceeded|Limit for rows .*max_rows_to_read/i, 'rows read'],
];

/** A per-query limit's error as QueryTooLarge; anything else as it is. */
function tooLarge(err: unknown): unknown {
  const m = err instanceof Error ? err.message : '';
  for (const [re, what] of TOO_LARGE) if (re.test(m)) return new QueryTooLarge(what);
  return err;
}

/**
 * The four reads of the query API, written once: each goes through its engine's `run`, which
 * admits it, runs it under the deadline and the client's signal and stops the statement in the
 * engine. One runner per engine derives from this.
 */
abstract class EngineRunner<S extends FlowStore> implements QueryRunner {
  abstract readonly engine: FlowStore['engine'];

  constructor(readonly limiter: QueryLimiter) {}

  protected abstract run<T>(tenant: string, ctx: QueryContext, read: (s: S, opts: QueryOptions) => Promise<T>): Promise<T>;

  abstract close(): Promise<void>;

  timeSeries(tenant: string, q: TimeSeriesQuery, ctx: QueryContext): Promise<TimeSeriesResult> {
    return this.run(tenant, ctx, (s, opts) => s.timeSeries(tenant, q, opts));
  }

  topN(tenant: string, q: TopNQuery, ctx: QueryContext): Promise<TopNResult> {
    return this.run(tenant, ctx, (s, opts) => s.topN(tenant, q, opts));
  }

  aggregate(tenant: string, q: AggregateQuery, ctx: QueryContext): Promise<AggregateResult> {
    return this.run(tenant, ctx, (s, opts) => s.aggregate(tenant, q, opts));
  }

  listFlows(tenant: string, q: FlowListQuery, ctx: QueryContext): Promise<FlowListResult> {
    return this.run(tenant, ctx, (s, opts) => s.listFlows(tenant, q, opts));
  }
}

/**
 * DuckDB: a pool of connections on the database file, one per slot. A connection runs one query
 * at a time and only the query that holds it is interrupted, so an interrupt never hits a later
 * request; a connection goes back to the pool only once its interrupted query has stopped.
 */
export class DuckDBRunner extends EngineRunner<DuckDBStore> {
  readonly engine = 'duckdb' as const;
  private readonly free: { store: DuckDBStore; conn: DuckDBConnection }[];
  private readonly waiting: ((c: { store: DuckDBStore; conn: DuckDBConnection }) => void)[] = [];

  private constructor(
    private readonly all: { store: DuckDBStore; conn: DuckDBConnection }[],
    limiter: QueryLimiter,
  ) {
    super(limiter);
    this.free = [...all];
  }

  /**
   * Connections on the file, at least one per slot of the limiter; in one process they share the
   * database instance with its writer, which must have opened it with the same `memoryLimit`.
   */
  static async open(
    path: string,
    connections: number,
    opts: { limits?: Partial<QueryLimits> | undefined; memoryLimit?: string | undefined; registry?: Registry | undefined } = {},
  ): Promise<DuckDBRunner> {
    const limits = QueryLimitsSchema.parse(opts.limits ?? {});
    const all: { store: DuckDBStore; conn: DuckDBConnection }[] = [];
    for (let i = 0; i < Math.max(connections, limits.concurrent); i++) {
      const store = await openStore({ engine: 'duckdb', path }, { memoryLimit: opts.memoryLimit });
      all.push({ store, conn: await store.withConnection(async (c) => c) });
    }
    return new DuckDBRunner(all, new QueryLimiter(limits, opts.registry));
  }

  protected run<T>(tenant: string, ctx: QueryContext, read: (s: DuckDBStore, opts: QueryOptions) => Promise<T>): Promise<T> {
    return limited(this.limiter, tenant, ctx, async (stop) => {
      const c = this.free.pop() ?? (await new Promise<{ store: DuckDBStore; conn: DuckDBConnection }>((resolve) => this.waiting.push(resolve)));
      // the store interrupts its own connection when `stop` aborts (deadline, client gone); the runner only reports it
      let stopping = false;
      const cancelled = () => {
        stopping = true;
        this.limiter.emit({ type: 'cancelled', tenant, reason: abortReason(stop.reason) });
      };
      let interrupted = false;
      try {
        if (stop.aborted) throw stop.reason;
        stop.addEventListener('abort', cancelled, { once: true });
        return await read(c.store, { signal: stop });
      } catch (err) {
        interrupted = /interrupt/i.test(err instanceof Error ? err.message : '');
        throw tooLarge(err);
      } finally {
        stop.removeEventListener('abort', cancelled);
        if (stopping) this.limiter.emit({ type: 'stopped', tenant, interrupted });
        const next = this.waiting.shift();
        if (next) next(c);
        else this.free.push(c);
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.all) await c.store.close();
  }
}

/**
 * ClickHouse: every statement carries its own query id and the per-query limits
 * (max_execution_time, max_memory_usage, max_rows_to_read); at the deadline or when the client
 * leaves, the request is aborted and the statement killed by its id (the server does not stop
 * a running SELECT when the request goes away).
 */
export class ClickHouseRunner extends EngineRunner<ClickHouseStore> {
  readonly engine = 'clickhouse' as const;

  /** `max_threads` of each statement, once `auto` is resolved from the server (0: the server's) */
  private threads: Promise<number> | undefined;

  constructor(
    private readonly store: ClickHouseStore,
    limiter: QueryLimiter,
  ) {
    super(limiter);
  }

  /**
   * `auto`: half the server's default, asked once (a failed ask is asked again by the next
   * query, and this one runs with the server's default rather than failing).
   */
  maxThreads(): Promise<number> {
    const want = this.limiter.limits.clickhouse.maxThreads;
    if (want !== 'auto') return Promise.resolve(want);
    this.threads ??= this.store.serverMaxThreads().then(
      (n) => Math.max(1, Math.floor(n / 2)),
      () => {
        this.threads = undefined;
        return 0;
      },
    );
    return this.threads;
  }

  /** `config`: the store section without its engine (the store's openStore reads the password and TLS files) */
  static async open(
    config: Omit<Extract<StoreConfigInput, { engine: 'clickhouse' }>, 'engine'>,
    opts: { limits?: Partial<QueryLimits> | undefined; registry?: Registry | undefined } = {},
  ): Promise<ClickHouseRunner> {
    const store = await openStore({ ...config, engine: 'clickhouse' });
    return new ClickHouseRunner(store, new QueryLimiter(QueryLimitsSchema.parse(opts.limits ?? {}), opts.registry));
  }

  protected run<T>(tenant: string, ctx: QueryContext, read: (s: ClickHouseStore, opts: QueryOptions) => Promise<T>): Promise<T> {
    const l = this.limiter.limits.clickhouse;
    return limited(this.limiter, tenant, ctx, async (stop) => {
      const queryId = `sightline-api-${randomUUID()}`;
      // the store kills the statement by this id when `stop` aborts and settles once the server stopped it; the runner only reports it
      let stopping = false;
      const cancelled = () => {
        stopping = true;
        this.limiter.emit({ type: 'cancelled', tenant, reason: abortReason(stop.reason), queryId });
      };
      const maxThreads = await this.maxThreads();
      if (stop.aborted) throw stop.reason;
      stop.addEventListener('abort', cancelled, { once: true });
      try {
        return await read(this.store, {
          signal: stop,
          queryId,
          timeoutMs: Math.max(1, ctx.deadline - Date.now()),
          limits: { maxMemoryUsage: l.maxMemoryUsage, maxRowsToRead: l.maxRowsToRead, readOverflowMode: l.readOverflowMode, maxThreads },
        });
      } catch (err) {
        // the server's own limit (TIMEOUT_EXCEEDED, code 159) is the same deadline seen from the other side
        if (!stop.aborted && /TIMEOUT_EXCEEDED|Timeout exceeded/i.test(err instanceof Error ? err.message : '')) throw new QueryTimeout(ctx.limitMs);
        throw tooLarge(err);
      } finally {
        stop.removeEventListener('abort', cancelled);
        // the read settled after the store's kill: the slot is freed once the server has stopped the statement
        if (stopping) this.limiter.emit({ type: 'stopped', tenant, queryId });
      }
    });
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

/**
 * The runner a config's `query.store` names, opened through the store's one entry point (which
 * reads a ClickHouse password from its file; the api's config takes none inline). DuckDB: the
 * section's memoryLimit, else the query limits' (the instance's limit is the only one DuckDB has).
 */
export async function openQueryRunner(query: QueryConfig, registry?: Registry): Promise<QueryRunner> {
  const { store, limits } = query;
  if (store.engine === 'duckdb') {
    return DuckDBRunner.open(store.path, store.connections, { limits, memoryLimit: store.memoryLimit ?? limits.duckdb.memoryLimit, registry });
  }
  const { engine: _engine, ...section } = store;
  return ClickHouseRunner.open(section, { limits, registry });
}
