import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { FIELD_LIST, type BatchMeta, type FlowBatch } from '@sightline/flow';
import { z } from 'zod';
import { batchFromColumns } from './duckdb-store.js';
import { clickhouseMigrations, featuresFor, ROLLUP_NUMERIC, rollupKey, type ClickHouseFeatures } from './clickhouse-schema.js';
import { quoteIdent, quoteNumber, quoteString, quoteValue, tsvField } from './clickhouse-sql.js';
import { DEFAULT_RETENTION_DAYS, ROLLUPS, rollupTable, STORED_FIELDS, TIME_SOURCES, type RollupSpec } from './schema.js';
import {
  checkBatch,
  checkTenant,
  chooseRollup,
  parseQuery,
  TimeSeriesQuerySchema,
  TopNQuerySchema,
  type Filter,
  type FlowStore,
  type QueryOptions,
  type TimeSeriesQuery,
  type TimeSeriesResult,
  type TopNQuery,
  type TopNResult,
} from './store.js';

export const ClickHouseStoreConfigSchema = z.object({
  url: z.string().url(),
  database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and underscore'),
  username: z.string().default('default'),
  /** never logged nor put in an error */
  password: z.string().default(''),
  retentionDays: z
    .object({ flows: z.number().positive(), '1m': z.number().positive(), '5m': z.number().positive(), '1h': z.number().positive() })
    .default(DEFAULT_RETENTION_DAYS),
});
export type ClickHouseStoreConfig = z.input<typeof ClickHouseStoreConfigSchema>;

/**
 * The scale-out store. Dedupe: on servers with insert_deduplication_token (22.2+) the insert
 * carries the batch id as its token and the server drops a repeat, dependent rollup views included.
 * On older servers (18.16 here) a ledger is checked before the insert and written after it; a
 * batch whose rows landed but whose ledger entry did not (crash in between) is found by its id
 * in the raw table within its time range and is not written again. Two writers racing on one
 * batch both insert: the raw table's ReplacingMergeTree key (batch_id, row_no) collapses them,
 * reads use FINAL, but the rollups count such a batch twice (see README).
 */
export class ClickHouseStore implements FlowStore {
  readonly engine = 'clickhouse' as const;
  private ft: ClickHouseFeatures | undefined;

  private constructor(
    private readonly ch: ClickHouseClient,
    private readonly cfg: z.output<typeof ClickHouseStoreConfigSchema>,
  ) {}

  static open(config: ClickHouseStoreConfig): ClickHouseStore {
    const cfg = ClickHouseStoreConfigSchema.parse(config);
    const ch = createClient({ url: cfg.url, username: cfg.username, password: cfg.password, request_timeout: 120_000 });
    return new ClickHouseStore(ch, cfg);
  }

  private t(name: string): string {
    return `${quoteIdent(this.cfg.database)}.${quoteIdent(name)}`;
  }

  private async rows<T extends Record<string, unknown>>(sql: string, opts: QueryOptions = {}): Promise<T[]> {
    // the client only listens for a later abort; one that already happened would be ignored
    opts.signal?.throwIfAborted();
    const rs = await this.ch.query({
      query: sql,
      format: 'JSONEachRow',
      ...(opts.signal ? { abort_signal: opts.signal } : {}),
      // whole seconds on every server version; the aborted request covers finer deadlines
      ...(opts.timeoutMs !== undefined ? { clickhouse_settings: { max_execution_time: Math.max(1, Math.ceil(opts.timeoutMs / 1000)) } } : {}),
    });
    return rs.json<T>();
  }

  async features(): Promise<ClickHouseFeatures> {
    if (this.ft === undefined) {
      const [v] = await this.rows<{ v: string; lc: string }>(
        "SELECT version() AS v, toString(ifNull((SELECT any(value) FROM system.settings WHERE name = 'allow_experimental_low_cardinality_type'), '0')) AS lc",
      );
      if (!v) throw new Error('clickhouse: SELECT version() returned nothing');
      this.ft = featuresFor(v.v, v.lc === '1');
    }
    return this.ft;
  }

  async migrate(): Promise<number[]> {
    const ft = await this.features();
    await this.ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdent(this.cfg.database)}` });
    await this.ch.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.t('schema_migrations')} (version UInt32, name String, applied_at DateTime('UTC'), server String)
        ENGINE = ReplacingMergeTree ORDER BY version`,
    });
    const done = new Set((await this.rows<{ version: number }>(`SELECT version FROM ${this.t('schema_migrations')}`)).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of clickhouseMigrations(this.cfg.database, ft, this.cfg.retentionDays)) {
      if (done.has(m.version)) continue;
      // ClickHouse DDL is not transactional: every statement is IF NOT EXISTS, so a migration
      // interrupted half-way is simply run again.
      for (const sql of m.statements) {
        try {
          await this.ch.command({ query: sql });
        } catch (e) {
          throw new Error(`clickhouse migration ${m.version} (${m.name}) on ${ft.version} failed: ${(e as Error).message}`, { cause: e });
        }
      }
      await this.ch.command({
        query: `INSERT INTO ${this.t('schema_migrations')} VALUES (${m.version}, ${quoteString(m.name)}, now(), ${quoteString(ft.version)})`,
      });
      applied.push(m.version);
    }
    return applied;
  }

  async writeBatch(meta: BatchMeta, batch: FlowBatch): Promise<{ written: boolean }> {
    const m = checkBatch(meta, batch);
    const ft = await this.features();
    const id = quoteString(m.id);
    const [seen] = await this.rows<{ n: string }>(`SELECT count() AS n FROM ${this.t('batches')} WHERE batch_id = ${id}`);
    if (Number(seen?.n ?? 0) > 0) return { written: false };

    const fallback = Date.parse(m.createdAt);
    let minS = Infinity;
    let maxS = -Infinity;
    const secs = new Float64Array(batch.length);
    for (let r = 0; r < batch.length; r++) {
      const s = Math.floor(rowTime(batch, r, fallback) / 1000);
      secs[r] = s;
      if (s < minS) minS = s;
      if (s > maxS) maxS = s;
    }
    if (batch.length === 0) minS = maxS = Math.floor(fallback / 1000);

    if (!ft.dedupToken) {
      // A previous attempt may have inserted the rows and died before the ledger entry.
      const [landed] = await this.rows<{ n: string }>(
        `SELECT sum(toUInt64(1)) AS n FROM ${this.t('flows')} WHERE tenant = ${quoteString(m.tenant)}
          AND ts >= toDateTime(${minS}, 'UTC') AND ts <= toDateTime(${maxS}, 'UTC') AND batch_id = ${id}`,
      );
      if (Number(landed?.n ?? 0) >= batch.length && batch.length > 0) {
        await this.ledger(m, batch.length, minS, maxS);
        return { written: false };
      }
    }

    let written = true;
    if (batch.length > 0) {
      const body = tsvBody(m, batch, secs, ft);
      const res = await this.ch.exec({
        query: `INSERT INTO ${this.t('flows')} FORMAT TabSeparated`,
        values: Readable.from([body]),
        clickhouse_settings: ft.dedupToken
          ? { insert_deduplication_token: m.id, deduplicate_blocks_in_dependent_materialized_views: 1 }
          : {},
      });
      res.stream.resume();
      await new Promise<void>((ok, fail) => res.stream.on('end', ok).on('error', fail));
      // The server reports 0 written rows when the token dropped the insert as a repeat.
      if (ft.dedupToken && res.summary && Number(res.summary.written_rows) === 0) written = false;
    }
    await this.ledger(m, batch.length, minS, maxS);
    return { written };
  }

  private async ledger(m: BatchMeta, records: number, minS: number, maxS: number): Promise<void> {
    await this.ch.command({
      query: `INSERT INTO ${this.t('batches')} VALUES (${quoteString(m.id)}, ${quoteString(m.tenant)}, ${records}, now(),
        toDateTime(${minS}, 'UTC'), toDateTime(${maxS}, 'UTC'))`,
    });
  }

  async readBatch(tenant: string, batchId: string): Promise<FlowBatch> {
    const t = checkTenant(tenant);
    const ft = await this.features();
    const cols = STORED_FIELDS.map((f, i) => {
      const c = quoteIdent(f.spec.name);
      const e =
        f.spec.kind === 'time'
          ? ft.dateTime64
            ? `toUnixTimestamp64Micro(${c}) / 1000`
            : `${c} / 1000`
          : f.spec.kind === 'number'
            ? `toFloat64(${c})`
            : c;
      return `${e} AS c${i}`;
    });
    const rows = await this.rows<Record<string, string | number | null>>(
      `SELECT ${cols.join(', ')}, extra AS c${STORED_FIELDS.length} FROM ${this.t('flows')} FINAL
        WHERE tenant = ${quoteString(t)} AND batch_id = ${quoteString(batchId)} ORDER BY row_no`,
    );
    const columns: unknown[][] = Array.from({ length: FIELD_LIST.length + 1 }, (_, k) => rows.map((r) => r[`c${k}`] ?? null));
    return batchFromColumns(rows.length, columns);
  }

  async timeSeries(tenant: string, query: TimeSeriesQuery, opts: QueryOptions = {}): Promise<TimeSeriesResult> {
    const t = checkTenant(tenant);
    const qy = parseQuery(TimeSeriesQuerySchema, query, 'timeSeries');
    const rollup = chooseRollup(qy.filters.map((f) => f.field), qy.from, qy.to, qy.stepSeconds, qy.use);
    const src = this.source(rollup, qy.metric);
    const step = quoteNumber(qy.stepSeconds);
    const rows = await this.rows<{ t: string; v: string }>(
      `SELECT intDiv(toUInt32(${src.time}), ${step}) * ${step} AS t, ${src.measure} AS v
        FROM ${src.table} WHERE ${whereSql(t, src.time, qy.from, qy.to, qy.filters, rollup !== null)}
        GROUP BY t ORDER BY t`,
      opts,
    );
    return { source: rollup?.name ?? 'raw', points: rows.map((r) => ({ t: Number(r.t) * 1000, value: Number(r.v) })) };
  }

  async topN(tenant: string, query: TopNQuery, opts: QueryOptions = {}): Promise<TopNResult> {
    const t = checkTenant(tenant);
    const qy = parseQuery(TopNQuerySchema, query, 'topN');
    const rollup = chooseRollup([...qy.dimensions, ...qy.filters.map((f) => f.field)], qy.from, qy.to, undefined, qy.use);
    const src = this.source(rollup, qy.metric);
    const dims = qy.dimensions.map((d, i) => `${rollup ? rollupKey(d) : quoteIdent(d)} AS d${i}`);
    const order = qy.dimensions.map((_, i) => (rollup ? `d${i} = ${ROLLUP_NUMERIC.has(qy.dimensions[i]!) ? '-1' : "''"}, d${i}` : `d${i} IS NULL, d${i}`));
    const rows = await this.rows<Record<string, string | number | null>>(
      `SELECT ${dims.join(', ')}, ${src.measure} AS v FROM ${src.table}
        WHERE ${whereSql(t, src.time, qy.from, qy.to, qy.filters, rollup !== null)}
        GROUP BY ${qy.dimensions.map((_, i) => `d${i}`).join(', ')} ORDER BY v DESC, ${order.join(', ')} LIMIT ${quoteNumber(qy.n)}`,
      opts,
    );
    return {
      source: rollup?.name ?? 'raw',
      rows: rows.map((r) => ({
        key: qy.dimensions.map((d, i) => fromKey(d, r[`d${i}`] ?? null, rollup !== null)),
        value: Number(r.v),
      })),
    };
  }

  private source(rollup: RollupSpec | null, metric: 'flows' | 'packets' | 'bytes'): { table: string; time: string; measure: string } {
    // FINAL: a raced duplicate is collapsed at read time. count() is wrong under FINAL on 18.16; sum(1) is right.
    if (rollup === null)
      return {
        table: `${this.t('flows')} FINAL`,
        time: 'ts',
        measure: metric === 'flows' ? 'sum(toUInt64(1))' : `sum(ifNull(${metric}, 0))`,
      };
    return { table: this.t(rollupTable(rollup)), time: 'bucket', measure: `sum(${metric})` };
  }

  async applyRetention(now: Date = new Date()): Promise<void> {
    const ret = this.cfg.retentionDays;
    const cutoff = (days: number): Date => new Date(now.getTime() - days * 86_400_000);
    await this.dropPartitions('flows', 'ts', cutoff(ret.flows), 'day');
    await this.dropPartitions('batches', 'max_ts', cutoff(Math.max(ret.flows, ret['1h'])), 'month');
    for (const r of ROLLUPS) await this.dropPartitions(rollupTable(r), 'bucket', cutoff(ret[r.name]), 'month');
  }

  /**
   * Drops the partitions wholly older than the cutoff (cheap: files are unlinked), then deletes
   * the older rows of the partition the cutoff falls in with a mutation, so what remains is the
   * same as DuckDB's. Newer servers also drop rows through the tables' TTL.
   */
  private async dropPartitions(table: string, col: string, cutoff: Date, unit: 'day' | 'month'): Promise<void> {
    const parts = await this.rows<{ partition: string }>(
      `SELECT DISTINCT partition FROM system.parts WHERE database = ${quoteString(this.cfg.database)} AND table = ${quoteString(table)} AND active`,
    );
    const iso = cutoff.toISOString();
    const cutKey = Number(unit === 'day' ? iso.slice(0, 10).replace(/-/g, '') : iso.slice(0, 7).replace(/-/g, ''));
    for (const p of parts) {
      const key = Number(p.partition.replace(/'/g, ''));
      if (Number.isFinite(key) && key < cutKey) await this.ch.command({ query: `ALTER TABLE ${this.t(table)} DROP PARTITION ${quoteNumber(key)}` });
    }
    const secs = Math.floor(cutoff.getTime() / 1000);
    const [left] = await this.rows<{ n: string }>(`SELECT count() AS n FROM ${this.t(table)} WHERE ${quoteIdent(col)} < toDateTime(${secs}, 'UTC')`);
    if (Number(left?.n ?? 0) > 0) {
      await this.ch.command({
        query: `ALTER TABLE ${this.t(table)} DELETE WHERE ${quoteIdent(col)} < toDateTime(${secs}, 'UTC')`,
      });
      await this.waitMutations(table);
    }
  }

  private async waitMutations(table: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const [r] = await this.rows<{ n: string }>(
        `SELECT count() AS n FROM system.mutations WHERE database = ${quoteString(this.cfg.database)} AND table = ${quoteString(table)} AND is_done = 0`,
      );
      if (Number(r?.n ?? 0) === 0) return;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`clickhouse retention: mutation on ${this.cfg.database}.${table} not done after 60 s`);
  }

  /** For tests and the benchmark. */
  get client(): ClickHouseClient {
    return this.ch;
  }

  async close(): Promise<void> {
    await this.ch.close();
  }
}

function rowTime(batch: FlowBatch, r: number, fallback: number): number {
  for (const c of TIME_SOURCES) {
    const col = batch.columns[c];
    if (col instanceof Float64Array) {
      const v = col[r]!;
      if (!Number.isNaN(v)) return v;
    }
  }
  return fallback;
}

/** Rollups hold '' and -1 for absent keys; give them back as null like the raw table does. */
function fromKey(dim: string, v: string | number | null, rollup: boolean): string | number | null {
  if (v === null) return null;
  const isNum = FIELD_LIST.find((f) => f.name === dim)?.kind !== 'string';
  if (rollup && (v === '' || (isNum && Number(v) === -1))) return null;
  return isNum ? Number(v) : v;
}

/** Tenant first, always; every value through the quoting functions. */
function whereSql(tenant: string, time: string, from: number, to: number, filters: readonly Filter[], rollup: boolean): string {
  const parts = [
    `tenant = ${quoteString(tenant)}`,
    `${time} >= toDateTime(${quoteNumber(from / 1000)}, 'UTC')`,
    `${time} < toDateTime(${quoteNumber(to / 1000)}, 'UTC')`,
  ];
  for (const f of filters) {
    const col = rollup ? rollupKey(f.field) : quoteIdent(f.field);
    const vals = f.values.filter((v): v is string | number => v !== null);
    const hasNull = vals.length < f.values.length;
    if (rollup) {
      const nullKey = ROLLUP_NUMERIC.has(f.field) ? -1 : '';
      parts.push(`${col} IN (${[...vals, ...(hasNull ? [nullKey] : [])].map(quoteValue).join(', ')})`);
    } else {
      const alts: string[] = [];
      if (vals.length > 0) alts.push(`${col} IN (${vals.map(quoteValue).join(', ')})`);
      if (hasNull) alts.push(`isNull(${col})`);
      parts.push(`(${alts.join(' OR ')})`);
    }
  }
  return parts.join(' AND ');
}

/** The batch as TabSeparated rows in the table's column order. */
function tsvBody(m: BatchMeta, batch: FlowBatch, secs: Float64Array, ft: ClickHouseFeatures): string {
  const head = `${tsvField(m.tenant)}\t${m.id}\t`;
  const cols = STORED_FIELDS.map((f) => ({ f, c: batch.columns[f.col] }));
  const parts: string[] = [];
  for (let r = 0; r < batch.length; r++) {
    let line = head + r + '\t' + secs[r];
    for (const { f, c } of cols) {
      if (c === undefined) {
        line += '\t\\N';
        continue;
      }
      const v = c[r];
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) line += '\t\\N';
      else if (typeof v === 'string') line += '\t' + tsvField(v);
      else if (f.spec.kind === 'time') line += '\t' + (ft.dateTime64 ? dt64(v) : String(Math.round(v * 1000)));
      else if (f.integer) line += '\t' + String(Math.round(v));
      else line += '\t' + String(v);
    }
    const ex = batch.extra?.[r];
    line += '\t' + (ex ? tsvField(JSON.stringify(ex)) : '\\N');
    parts.push(line);
  }
  return parts.join('\n') + '\n';
}

/** 'YYYY-MM-DD hh:mm:ss.ffffff', the text form DateTime64(6) reads in every input format. */
function dt64(ms: number): string {
  const us = Math.round(ms * 1000);
  const sec = Math.floor(us / 1_000_000);
  const frac = us - sec * 1_000_000;
  return new Date(sec * 1000).toISOString().slice(0, 19).replace('T', ' ') + '.' + String(frac).padStart(6, '0');
}
