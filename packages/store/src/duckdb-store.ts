import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { FIELD_LIST, FlowBatch, type BatchMeta } from '@sightline/flow';
import { resolve } from 'node:path';
import { z } from 'zod';
import { duckdbMigrations } from './duckdb-schema.js';
import { DuckDBWriter } from './duckdb-writer.js';
import { cutoffs, emptyReport, ledgerDays, uniformPolicy, type RetentionPolicy, type RetentionReport, type TenantCutoffs } from './retention.js';
import { DEFAULT_RETENTION_DAYS, legacyRollupTable, RAW_FLOW_TABLES, ROLLUPS, rollupTable, STORED_FIELDS, type RollupSpec } from './schema.js';
import { duckdbDialect, fieldExpr, filterSql } from './query-sql.js';
import { planAggregate, planTimeSeries, planTopN } from './query-plan.js';
import {
  checkBatch,
  checkTenant,
  FlowListQuerySchema,
  parseQuery,
  type AggregateQuery,
  type AggregateResult,
  type Filter,
  type FlowListQuery,
  type FlowListResult,
  type FlowStore,
  type QueryOptions,
  type TimeSeriesQuery,
  type TimeSeriesResult,
  type TopNQuery,
  type TopNResult,
  type WriteItem,
} from './store.js';

export const DuckDBStoreConfigSchema = z.object({
  /** database file; `:memory:` for a throw-away store */
  path: z.string().min(1),
  /**
   * WAL size that triggers a checkpoint. DuckDB's 16 MB default checkpoints every few batches, and
   * each checkpoint recompresses the partly filled row group of 160 columns: measured 4.7x slower
   * writes than with 1 GB on the benchmark's 8192-row batches.
   */
  checkpointThreshold: z.string().regex(/^\d+(\.\d+)?\s*[KMGT]i?B$/i, 'a size such as 1GB').default('1GB'),
  /**
   * DuckDB's buffer memory (its default is 80% of the machine's RAM). The embedded default sets 1 GB:
   * measured on 1.14M flows, the same speed as unbounded and 0.5-0.7 GB less peak RSS; 256 MB spills
   * and runs 2.5x slower. DuckDB allocates some memory outside this limit (~1.2 GB on that run).
   */
  memoryLimit: z.string().regex(/^\d+(\.\d+)?\s*[KMGT]i?B$/i, 'a size such as 1GB').optional(),
  /** days kept per table */
  retentionDays: z
    .object({ flows: z.number().positive(), '1m': z.number().positive(), '5m': z.number().positive(), '1h': z.number().positive() })
    .default(DEFAULT_RETENTION_DAYS),
  /**
   * Most rows written in one transaction. Batches that queue up while a transaction runs are
   * written together in the next one. Above one row group (122,880 rows) per table, DuckDB writes
   * the rows straight to the database file, compressed, instead of through the WAL: measured 1.3x
   * faster with groups of 262,144 than of 131,072 on the embedded benchmark.
   */
  maxGroupRows: z.number().int().positive().default(262_144),
});
export type DuckDBStoreConfig = z.input<typeof DuckDBStoreConfigSchema>;

/** The migrate() in progress per database file (resolved path; a `:memory:` store by itself). */
const migrating = new Map<unknown, Promise<unknown>>();

/** Interrupt again until a stopped read settles: an interrupt that lands before the statement starts is lost. */
const REINTERRUPT_MS = 5;

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The storage format of database files this store creates (see `open`); needs DuckDB 1.5+ to read them. */
export const STORAGE_VERSION = 'v1.5.0';

/**
 * The embedded store. One connection per store, and writes on it run one at a time (a DuckDB
 * connection holds one transaction). Several stores may share a database file in one process
 * (`DuckDBInstance.fromCache`): the ledger's primary key then settles which writer of a batch wins.
 */
export class DuckDBStore implements FlowStore {
  readonly engine = 'duckdb' as const;
  private queue: Promise<unknown> = Promise.resolve();
  private writer!: DuckDBWriter;

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly cfg: z.output<typeof DuckDBStoreConfigSchema>,
    /**
     * Held only to stay referenced: the connection does not keep the JS instance alive, and once
     * it is collected the next `fromCache` of the same file spins forever, waiting for a database
     * that this connection still holds open.
     */
    private readonly instance: DuckDBInstance,
  ) {}

  static async open(config: DuckDBStoreConfig): Promise<DuckDBStore> {
    const cfg = DuckDBStoreConfigSchema.parse(config);
    const instance = await DuckDBInstance.fromCache(cfg.path, {
      checkpoint_threshold: cfg.checkpointThreshold,
      // A file created from now on uses DuckDB 1.5's storage format instead of the default v1.0 one:
      // its validity masks are compressed (roaring) rather than one bit per row per column, which on
      // the 40x sample mix took the raw table from 84.6 to 71.7 bytes/flow (README "Bytes per flow").
      // An existing file keeps the format it was created with (DuckDB fixes it at creation).
      storage_compatibility_version: STORAGE_VERSION,
      ...(cfg.memoryLimit !== undefined ? { memory_limit: cfg.memoryLimit } : {}),
    });
    const conn = await instance.connect();
    const store = new DuckDBStore(conn, cfg, instance);
    store.writer = DuckDBWriter.create(conn, (job) => store.run(job), cfg.maxGroupRows);
    return store;
  }

  /**
   * A read under its limits: the caller's signal and `timeoutMs` (the store's own timer) interrupt
   * the connection while this read runs on it, and only then (a queued read that is stopped never
   * starts; a write on the same connection is never interrupted). An interrupt that lands before
   * DuckDB has started the statement is lost, so it is repeated until the read settles.
   */
  private read<T>(opts: QueryOptions, job: () => Promise<T>): Promise<T> {
    const { signal, timeoutMs } = opts;
    if (signal === undefined && timeoutMs === undefined) return this.run(job);
    return this.run(async () => {
      signal?.throwIfAborted();
      let timedOut = false;
      let again: NodeJS.Timeout | undefined;
      const interrupt = () => {
        if (again !== undefined) return;
        this.conn.interrupt();
        again = setInterval(() => this.conn.interrupt(), REINTERRUPT_MS);
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        timedOut = true;
        interrupt();
      }, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', interrupt, { once: true });
      try {
        return await job();
      } catch (err) {
        if (timedOut && /interrupt/i.test(err instanceof Error ? err.message : '')) {
          throw new Error(`duckdb store: the query did not finish within its time limit of ${timeoutMs} ms and was interrupted`, { cause: err });
        }
        throw err;
      } finally {
        clearTimeout(timer);
        clearInterval(again);
        signal?.removeEventListener('abort', interrupt);
      }
    });
  }

  /** Serializes work on the connection; a failed job does not poison the ones after it. */
  private run<T>(job: () => Promise<T>): Promise<T> {
    const p = this.queue.then(job, job);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Stores on the same file in one process migrate one after the other (a file has one writing
   * process): two at once would both see a version as missing, and migration 5's rename fails in the
   * second one with a catalog write-write conflict instead of finding it applied.
   */
  migrate(): Promise<number[]> {
    const key = this.cfg.path === ':memory:' ? this : resolve(this.cfg.path);
    const mine = (migrating.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => this.migrateNow());
    const settled = mine.catch(() => undefined);
    migrating.set(key, settled);
    void settled.then(() => {
      if (migrating.get(key) === settled) migrating.delete(key);
    });
    return mine;
  }

  private migrateNow(): Promise<number[]> {
    return this.run(async () => {
      await this.conn.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)');
      const done = new Set(
        (await this.conn.runAndReadAll('SELECT version FROM schema_migrations')).getColumnsJS()[0]?.map((v) => Number(v)) ?? [],
      );
      const applied: number[] = [];
      for (const m of duckdbMigrations()) {
        if (done.has(m.version)) continue;
        await this.conn.run('BEGIN TRANSACTION');
        try {
          for (const sql of m.statements) await this.conn.run(sql);
          // ON CONFLICT: another store on the same file may have applied it meanwhile; its DDL is idempotent too.
          await this.conn.run('INSERT INTO schema_migrations VALUES ($1, $2, now()) ON CONFLICT DO NOTHING', [m.version, m.name]);
          await this.conn.run('COMMIT');
        } catch (e) {
          await this.conn.run('ROLLBACK').catch(() => undefined);
          throw new Error(`duckdb migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e });
        }
        applied.push(m.version);
      }
      // the writer reads the raw tables' columns once: a migration may have added columns (migration 5: the tables)
      if (applied.length > 0) this.writer.reset();
      return applied;
    });
  }

  async writeBatch(meta: BatchMeta, batch: FlowBatch): Promise<{ written: boolean }> {
    return this.writer.write(checkBatch(meta, batch), batch);
  }

  /** Issued together, the batches land in one group (one transaction) unless it exceeds maxGroupRows. */
  writeBatches(items: readonly WriteItem[]): Promise<{ written: boolean }[]> {
    return Promise.all(items.map((i) => this.writeBatch(i.meta, i.batch)));
  }

  /** Through the view `flows` (migration 5): a batch split between raw tables comes back whole, by its row numbers. */
  async readBatch(tenant: string, batchId: string): Promise<FlowBatch> {
    const t = checkTenant(tenant);
    return this.run(async () => {
      const cols = STORED_FIELDS.map((f) =>
        f.spec.kind === 'time' ? `epoch_us(${q(f.spec.name)})::DOUBLE / 1000` : f.spec.kind === 'number' ? `${q(f.spec.name)}::DOUBLE` : q(f.spec.name),
      );
      const r = await this.conn.runAndReadAll(
        `SELECT ${cols.join(', ')}, extra FROM flows WHERE tenant = $1 AND batch_id = $2 ORDER BY row_no`,
        [t, batchId],
      );
      return batchFromColumns(r.currentRowCount, r.getColumnsJS() as unknown[][]);
    });
  }

  async timeSeries(tenant: string, query: TimeSeriesQuery, opts: QueryOptions = {}): Promise<TimeSeriesResult> {
    const qy = planTimeSeries(tenant, query);
    const rollup = qy.rollup;
    const { table, time, measure } = source(rollup, qy.metric);
    const params: DuckDBValue[] = [qy.tenant, qy.from * 1000, qy.to * 1000];
    const where = whereSql(time, qy.filters, params, rollup !== null);
    const sql = `SELECT epoch_ms(time_bucket(to_microseconds(${qy.stepSeconds * 1_000_000}::BIGINT), ${time}, TIMESTAMP '1970-01-01'))::DOUBLE AS t, ${measure}::DOUBLE AS v
      FROM ${table} WHERE ${where} GROUP BY 1 ORDER BY 1`;
    return this.read(opts, async () => {
      const rows = (await this.conn.runAndReadAll(sql, params)).getRowsJS();
      return { source: qy.source, points: rows.map((r) => ({ t: Number(r[0]), value: Number(r[1] ?? 0) })) };
    });
  }

  async topN(tenant: string, query: TopNQuery, opts: QueryOptions = {}): Promise<TopNResult> {
    const qy = planTopN(tenant, query);
    const rollup = qy.rollup;
    const { table, time, measure } = source(rollup, qy.metric);
    const params: DuckDBValue[] = [qy.tenant, qy.from * 1000, qy.to * 1000];
    const where = whereSql(time, qy.filters, params, rollup !== null);
    const d = duckdbDialect(params, rollup !== null);
    const dims = qy.dimensions.map((f, i) => `${fieldExpr(d, f)} AS d${i}`).join(', ');
    const keys = qy.dimensions.map((_, i) => `d${i}`);
    const sql = `SELECT ${dims}, ${measure}::DOUBLE AS v FROM ${table} WHERE ${where}
      GROUP BY ${keys.join(', ')} ORDER BY v DESC, ${keys.map((k) => `${k} NULLS LAST`).join(', ')} LIMIT ${qy.n}`;
    return this.read(opts, async () => {
      const rows = (await this.conn.runAndReadAll(sql, params)).getRowsJS();
      const d = qy.dimensions.length;
      return {
        source: qy.source,
        rows: rows.map((r) => ({ key: r.slice(0, d).map((x) => (x === null || typeof x === 'string' ? x : Number(x))), value: Number(r[d] ?? 0) })),
      };
    });
  }

  async aggregate(tenant: string, query: AggregateQuery, opts: QueryOptions = {}): Promise<AggregateResult> {
    const qy = planAggregate(tenant, query);
    const rollup = qy.rollup;
    const { table, time } = source(rollup, qy.metric);
    const params: DuckDBValue[] = [qy.tenant, qy.from * 1000, qy.to * 1000];
    const where = whereSql(time, qy.filters, params, rollup !== null);
    const d = duckdbDialect(params, rollup !== null);
    const dims = qy.dimensions.map((f, i) => `${fieldExpr(d, f)} AS d${i}`).join(', ');
    const keys = qy.dimensions.map((_, i) => `d${i}`);
    const m = (x: 'flows' | 'packets' | 'bytes') => source(rollup, x).measure;
    const sql = `SELECT ${dims}, ${m('flows')}::DOUBLE AS flows, ${m('packets')}::DOUBLE AS packets, ${m('bytes')}::DOUBLE AS bytes
      FROM ${table} WHERE ${where}
      GROUP BY ${keys.join(', ')} ORDER BY ${qy.metric} DESC, ${keys.map((k) => `${k} NULLS LAST`).join(', ')} LIMIT ${qy.n}`;
    return this.read(opts, async () => {
      const rows = (await this.conn.runAndReadAll(sql, params)).getRowsJS();
      const n = qy.dimensions.length;
      return {
        source: qy.source,
        rows: rows.map((r) => ({
          key: r.slice(0, n).map((x) => (x === null || typeof x === 'string' ? x : Number(x))),
          flows: Number(r[n] ?? 0),
          packets: Number(r[n + 1] ?? 0),
          bytes: Number(r[n + 2] ?? 0),
        })),
      };
    });
  }

  /** Raw rows in (ts, batch_id, row_no) order; keyset pagination, so a page costs the same wherever it is. */
  async listFlows(tenant: string, query: FlowListQuery, opts: QueryOptions = {}): Promise<FlowListResult> {
    const t = checkTenant(tenant);
    const qy = parseQuery(FlowListQuerySchema, query, 'listFlows');
    const params: DuckDBValue[] = [t, qy.from * 1000, qy.to * 1000];
    let where = whereSql('ts', qy.filters, params);
    const dir = qy.order === 'desc' ? 'DESC' : 'ASC';
    if (qy.after) {
      const d = duckdbDialect(params);
      const cmp = qy.order === 'desc' ? '<' : '>';
      const ts = `make_timestamp(${d.bind(qy.after.tsUs)}::BIGINT)`;
      const b = d.bind(qy.after.batchId);
      const r = d.bind(qy.after.rowNo);
      where += ` AND (ts ${cmp} ${ts} OR (ts = ${ts} AND (batch_id ${cmp} ${b} OR (batch_id = ${b} AND row_no ${cmp} ${r}))))`;
    }
    const cols = STORED_FIELDS.map((f) =>
      f.spec.kind === 'time' ? `epoch_us(${q(f.spec.name)})::DOUBLE / 1000` : f.spec.kind === 'number' ? `${q(f.spec.name)}::DOUBLE` : q(f.spec.name),
    );
    const sql = `SELECT epoch_us(ts)::DOUBLE, batch_id, row_no, ${cols.join(', ')}, extra FROM flows WHERE ${where}
      ORDER BY ts ${dir}, batch_id ${dir}, row_no ${dir} LIMIT ${qy.limit}`;
    return this.read(opts, async () => {
      const rows = (await this.conn.runAndReadAll(sql, params)).getRowsJS();
      return {
        rows: rows.map((r) => ({
          position: { tsUs: Number(r[0]), batchId: String(r[1]), rowNo: Number(r[2]) },
          fields: Object.fromEntries(STORED_FIELDS.map((f, i) => [f.spec.name, r[3 + i] === null || r[3 + i] === undefined ? null : typeof r[3 + i] === 'string' ? (r[3 + i] as string) : Number(r[3 + i])])),
          extra: typeof r[3 + STORED_FIELDS.length] === 'string' ? (JSON.parse(r[3 + STORED_FIELDS.length] as string) as Record<string, string>) : null,
        })),
      };
    });
  }

  /**
   * Deletes per tenant: each overridden tenant by its own days, every other tenant by the
   * default (`policy` absent: this store's `retentionDays` for everyone).
   */
  applyRetention(now: Date = new Date(), policy: RetentionPolicy = uniformPolicy(this.cfg.retentionDays)): Promise<RetentionReport> {
    return this.run(async () => {
      const report = emptyReport();
      const del = async (table: string, col: string, c: TenantCutoffs): Promise<number> => {
        const params: DuckDBValue[] = [];
        const p = (v: DuckDBValue): string => {
          params.push(v);
          return `$${params.length}`;
        };
        const ts = (d: Date): string => `make_timestamp(${p(BigInt(d.getTime()) * 1000n)}::BIGINT)`;
        const alts = c.tenants.map((t) => `(tenant = ${p(t.tenant)} AND ${col} < ${ts(t.before)})`);
        const others = c.tenants.length > 0 ? `tenant NOT IN (${c.tenants.map((t) => p(t.tenant)).join(', ')}) AND ` : '';
        alts.push(`(${others}${col} < ${ts(c.others)})`);
        return (await this.conn.run(`DELETE FROM ${table} WHERE ${alts.join(' OR ')}`, params)).rowsChanged;
      };
      // every raw table (each cloud's and the wide table of the stores before migration 5), by the raw days
      const raw = cutoffs(policy, now, (d) => d.flows);
      for (const t of RAW_FLOW_TABLES) report.flows.rows += await del(t, 'ts', raw);
      // The ledger must outlive the rows: a batch redelivered after its rows expired would come back otherwise.
      report.ledger.rows = await del('batches', 'max_ts', cutoffs(policy, now, ledgerDays));
      for (const r of ROLLUPS) report[r.name].rows = await del(rollupTable(r), 'bucket', cutoffs(policy, now, (d) => d[r.name]));
      // the dst_port-keyed rollups of before migration 4 are no longer written; they expire by the same days
      for (const r of ROLLUPS) report[r.name].rows += await del(legacyRollupTable(r), 'bucket', cutoffs(policy, now, (d) => d[r.name]));
      return report;
    });
  }

  async close(): Promise<void> {
    // writes queued before close are written first (a group job may queue the next group behind it)
    while (this.writer.busy) await this.run(async () => undefined);
    await this.run(async () => {
      this.writer.close();
      this.conn.closeSync();
    });
  }

  /** For tests and the benchmark: the raw connection, serialized with the store's own work. */
  withConnection<T>(job: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.run(() => job(this.conn));
  }
}

function source(rollup: RollupSpec | null, metric: 'flows' | 'packets' | 'bytes'): { table: string; time: string; measure: string } {
  if (rollup === null) return { table: 'flows', time: 'ts', measure: metric === 'flows' ? 'count(*)' : `coalesce(sum(${metric}), 0)` };
  return { table: rollupTable(rollup), time: 'bucket', measure: `coalesce(sum(${metric}), 0)` };
}

/** Tenant first, always; values travel as parameters, never inside the SQL text. */
function whereSql(time: string, filters: readonly Filter[], params: DuckDBValue[], rollup = false): string {
  const parts = [`tenant = $1`, `${time} >= make_timestamp($2::BIGINT)`, `${time} < make_timestamp($3::BIGINT)`];
  const d = duckdbDialect(params, rollup);
  for (const f of filters) parts.push(filterSql(d, f));
  return parts.join(' AND ');
}

/** Result columns (fields in FIELD_LIST order, then extra) back into a batch; every column allocated. */
export function batchFromColumns(n: number, cols: readonly unknown[][]): FlowBatch {
  const b = new FlowBatch(Math.max(n, 1));
  for (let k = 0; k < FIELD_LIST.length; k++) {
    const src = cols[k] ?? [];
    if (FIELD_LIST[k]!.kind === 'string') {
      const dst = b.strings(k);
      for (let i = 0; i < n; i++) dst[i] = (src[i] ?? null) as string | null;
    } else {
      const dst = b.numbers(k);
      for (let i = 0; i < n; i++) dst[i] = src[i] === null || src[i] === undefined ? NaN : Number(src[i]);
    }
  }
  const ex = cols[FIELD_LIST.length] ?? [];
  if (ex.some((x) => x !== null && x !== undefined)) {
    const dst = b.extras();
    for (let i = 0; i < n; i++) dst[i] = typeof ex[i] === 'string' ? (JSON.parse(ex[i] as string) as Record<string, string>) : null;
  }
  b.length = n;
  return b;
}
