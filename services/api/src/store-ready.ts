import { readFileSync } from 'node:fs';
import { DuckDBStore, quoteIdent } from '@sightline/store';
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
  private duck: DuckDBStore | null = null;
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
    await this.duck?.close();
    this.duck = null;
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
    const s = this.store;
    if (s.engine === 'duckdb') {
      this.duck ??= await DuckDBStore.open({ path: s.path, ...(this.duckdb.memoryLimit !== undefined ? { memoryLimit: this.duckdb.memoryLimit } : {}) });
      try {
        const n = await this.duck.withConnection(async (c) => Number((await c.runAndReadAll('SELECT count(*) FROM schema_migrations')).getColumnsJS()[0]?.[0] ?? 0));
        return n > 0 ? { ok: true, reason: '' } : this.down('the store has no migration applied yet (the writer creates the schema)');
      } catch (err) {
        if (/does not exist/i.test(err instanceof Error ? err.message : '')) return this.down('the store has no schema yet (the writer creates it)', err);
        throw err;
      }
    }
    const password = s.passwordFile === undefined ? '' : readFileSync(s.passwordFile, 'utf8').trim();
    const url = new URL(s.url);
    url.searchParams.set('query', `SELECT count() FROM ${quoteIdent(s.database)}.${quoteIdent('schema_migrations')} FORMAT TabSeparated`);
    const res = await fetch(url, { headers: { 'x-clickhouse-user': s.username, 'x-clickhouse-key': password }, signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    if (res.ok) return Number(text.trim()) > 0 ? { ok: true, reason: '' } : this.down('the store has no migration applied yet (the writer creates the schema)');
    // 81 UNKNOWN_DATABASE, 60 UNKNOWN_TABLE
    if (/Code: (81|60)\b/.test(text)) return this.down('the store has no schema yet (the writer creates it)', new Error(text.slice(0, 300)));
    return this.down(`the store answered HTTP ${res.status}`, new Error(text.slice(0, 300)));
  }
}
