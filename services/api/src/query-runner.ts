import { readFileSync } from 'node:fs';
import {
  ClickHouseStore,
  DuckDBStore,
  type ClickHouseStoreConfig,
  type FlowStore,
  type TimeSeriesQuery,
  type TimeSeriesResult,
  type TopNQuery,
  type TopNResult,
} from '@sightline/store';
import type { ApiConfig } from './config.js';

/** The store's connection, typed through the store (the api does not depend on the driver). */
type DuckDBConnection = Parameters<Parameters<DuckDBStore['withConnection']>[0]>[0];

/** A query that did not answer by its deadline; the server answers 504. */
export class QueryTimeout extends Error {
  constructor(readonly limitMs: number) {
    super(`the query did not finish within its time limit of ${limitMs} ms; narrow the range, add filters or use a coarser resolution`);
  }
}

/** Runs store reads under a deadline (epoch ms) and stops the engine's work when it passes. */
export interface QueryRunner {
  readonly engine: FlowStore['engine'];
  timeSeries(tenant: string, q: TimeSeriesQuery, deadline: number, limitMs: number): Promise<TimeSeriesResult>;
  topN(tenant: string, q: TopNQuery, deadline: number, limitMs: number): Promise<TopNResult>;
  close(): Promise<void>;
}

type Read<T> = (store: FlowStore, signal: AbortSignal, timeoutMs: number) => Promise<T>;

/**
 * DuckDB: a small pool of connections on the database file. A connection runs one query at a
 * time and only the query that holds it can be interrupted, so an interrupt never hits a later
 * request; a connection goes back to the pool only once its interrupted query has stopped.
 */
export class DuckDBRunner implements QueryRunner {
  readonly engine = 'duckdb' as const;
  private readonly free: { store: DuckDBStore; conn: DuckDBConnection }[];
  private readonly waiting: ((c: { store: DuckDBStore; conn: DuckDBConnection }) => void)[] = [];

  private constructor(private readonly all: { store: DuckDBStore; conn: DuckDBConnection }[]) {
    this.free = [...all];
  }

  /** `connections` stores on the file; in one process they share the database instance with its writer. */
  static async open(path: string, connections: number): Promise<DuckDBRunner> {
    const all: { store: DuckDBStore; conn: DuckDBConnection }[] = [];
    for (let i = 0; i < connections; i++) {
      const store = await DuckDBStore.open({ path });
      all.push({ store, conn: await store.withConnection(async (c) => c) });
    }
    return new DuckDBRunner(all);
  }

  private async run<T>(read: Read<T>, deadline: number, limitMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let held: { store: DuckDBStore; conn: DuckDBConnection } | undefined;
    let queued: ((c: { store: DuckDBStore; conn: DuckDBConnection }) => void) | undefined;
    const ac = new AbortController();
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        if (held) held.conn.interrupt();
        if (queued) this.waiting.splice(this.waiting.indexOf(queued), 1);
        reject(new QueryTimeout(limitMs));
      }, Math.max(0, deadline - Date.now()));
    });
    expired.catch(() => undefined);
    const work = (async () => {
      const c = this.free.pop() ?? (await new Promise<{ store: DuckDBStore; conn: DuckDBConnection }>((resolve) => this.waiting.push((queued = resolve))));
      held = c;
      try {
        if (ac.signal.aborted) throw new QueryTimeout(limitMs);
        return await read(c.store, ac.signal, limitMs);
      } finally {
        held = undefined;
        const next = this.waiting.shift();
        if (next) next(c);
        else this.free.push(c);
      }
    })();
    work.catch(() => undefined);
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  timeSeries(tenant: string, q: TimeSeriesQuery, deadline: number, limitMs: number): Promise<TimeSeriesResult> {
    return this.run((s) => s.timeSeries(tenant, q), deadline, limitMs);
  }

  topN(tenant: string, q: TopNQuery, deadline: number, limitMs: number): Promise<TopNResult> {
    return this.run((s) => s.topN(tenant, q), deadline, limitMs);
  }

  async close(): Promise<void> {
    for (const c of this.all) await c.store.close();
  }
}

/** ClickHouse: the server stops the query at max_execution_time; the request is aborted at the deadline. */
export class ClickHouseRunner implements QueryRunner {
  readonly engine = 'clickhouse' as const;

  constructor(private readonly store: ClickHouseStore) {}

  static open(config: ClickHouseStoreConfig): ClickHouseRunner {
    return new ClickHouseRunner(ClickHouseStore.open(config));
  }

  private async run<T>(read: Read<T>, deadline: number, limitMs: number): Promise<T> {
    const ac = new AbortController();
    const timeout = new QueryTimeout(limitMs);
    const timer = setTimeout(() => ac.abort(timeout), Math.max(0, deadline - Date.now()));
    try {
      return await read(this.store, ac.signal, Math.max(1, deadline - Date.now()));
    } catch (err) {
      // the server's own limit (TIMEOUT_EXCEEDED, code 159) is the same deadline seen from the other side
      if (ac.signal.aborted || /TIMEOUT_EXCEEDED|Timeout exceeded/i.test(err instanceof Error ? err.message : '')) throw timeout;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  timeSeries(tenant: string, q: TimeSeriesQuery, deadline: number, limitMs: number): Promise<TimeSeriesResult> {
    return this.run((s, signal, timeoutMs) => s.timeSeries(tenant, q, { signal, timeoutMs }), deadline, limitMs);
  }

  topN(tenant: string, q: TopNQuery, deadline: number, limitMs: number): Promise<TopNResult> {
    return this.run((s, signal, timeoutMs) => s.topN(tenant, q, { signal, timeoutMs }), deadline, limitMs);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

/** The runner a config's `query.store` names; a ClickHouse password is read from its file, never from the config. */
export async function openQueryRunner(store: NonNullable<ApiConfig['query']>['store']): Promise<QueryRunner> {
  if (store.engine === 'duckdb') return DuckDBRunner.open(store.path, store.connections);
  const password = store.passwordFile === undefined ? '' : readFileSync(store.passwordFile, 'utf8').trim();
  return ClickHouseRunner.open({ url: store.url, database: store.database, username: store.username, password });
}
