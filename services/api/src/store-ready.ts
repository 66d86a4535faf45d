import { openStore, quoteIdent, type ClickHouseStore, type DuckDBStore } from '@sightline/store';
import type { ApiConfig } from './config.js';
import type { Logger } from './log.js';

export interface StoreState {
  ok: boolean;
  /** why not, for /readyz and the 503 of a query: no path, no password, no server text */
  reason: string;
}

/**
 * Whether the query store can answer: the writer (enricher, embedded pipeline) owns the schema and
 * may not have created it yet, and until it has every query would fail. The probe asks the store
 * for its migrations table; the answer is kept a second so a burst of queries makes one probe.
 * The detail of a failure (server text, file) goes to the log once per change of state.
 */
export class StoreProbe {
  private last: { at: number; state: StoreState } | null = null;
  private pending: Promise<StoreState> | null = null;
  private opened: DuckDBStore | ClickHouseStore | null = null;
  private logged = '';

  constructor(
    private readonly store: NonNullable<ApiConfig['query']>['store'],
    private readonly log: Logger,
    /** DuckDB: the options the query runner opened the file with (one instance per file and configuration) */
    private readonly duckdb: { memoryLimit?: string | undefined } = {},
    private readonly cacheMs = 1_000,
  ) {}

  check(): Promise<StoreState> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return Promise.resolve(this.last.state);
    this.pending ??= this.probe()
      .then(
        (state) => state,
        (err: unknown) => this.down('the store did not answer', err),
      )
      .then((state) => {
        this.last = { at: Date.now(), state };
        this.pending = null;
        if (state.ok && this.logged !== '') this.log.info({ engine: this.store.engine }, 'api: query store ready');
        if (state.ok) this.logged = '';
        return state;
      });
    return this.pending;
  }

  async close(): Promise<void> {
    await this.opened?.close();
    this.opened = null;
  }

  private down(reason: string, err?: unknown): StoreState {
    const detail = err === undefined ? '' : err instanceof Error ? err.message : String(err);
    if (this.logged !== reason + detail) {
      this.logged = reason + detail;
      this.log.warn({ engine: this.store.engine, reason, detail }, 'api: query store not ready');
    }
    return { ok: false, reason };
  }

  private async probe(): Promise<StoreState> {
    // opened as the runner opens it (the store's one entry point: password and TLS files, DuckDB's memory limit), never migrated
    this.opened ??= await openStore(this.store, { memoryLimit: this.duckdb.memoryLimit });
    const s = this.opened;
    if (s.engine === 'duckdb') {
      try {
        const n = await s.withConnection(async (c) => Number((await c.runAndReadAll('SELECT count(*) FROM schema_migrations')).getColumnsJS()[0]?.[0] ?? 0));
        return n > 0 ? { ok: true, reason: '' } : this.down('the store has no migration applied yet (the writer creates the schema)');
      } catch (err) {
        if (/does not exist/i.test(err instanceof Error ? err.message : '')) return this.down('the store has no schema yet (the writer creates it)', err);
        throw err;
      }
    }
    if (this.store.engine !== 'clickhouse') throw new Error('unreachable');
    try {
      const rs = await s.client.query({
        query: `SELECT count() AS n FROM ${quoteIdent(this.store.database)}.${quoteIdent('schema_migrations')}`,
        format: 'JSONEachRow',
        abort_signal: AbortSignal.timeout(5_000),
      });
      const [row] = await rs.json<{ n: string }>();
      return Number(row?.n ?? 0) > 0 ? { ok: true, reason: '' } : this.down('the store has no migration applied yet (the writer creates the schema)');
    } catch (err) {
      // 81 UNKNOWN_DATABASE, 60 UNKNOWN_TABLE: the client's code, or the text (it does not parse 18.16's error format)
      const code = String((err as { code?: unknown }).code ?? '');
      if (code === '81' || code === '60' || /Code: (81|60)\b/.test(err instanceof Error ? err.message : '')) return this.down('the store has no schema yet (the writer creates it)', err);
      throw err;
    }
  }
}
