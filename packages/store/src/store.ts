import { z } from 'zod';
import { BatchMetaSchema, FIELD_BY_NAME, FLOW_SCHEMA_VERSION, type BatchMeta, type FlowBatch } from '@sightline/flow';
import type { RetentionPolicy, RetentionReport } from './retention.js';
import { isQueryField, isStringField, parseCidr } from './query-sql.js';
import { METRICS, ROLLUP_DIMS, ROLLUPS, type Metric, type RollupSpec } from './schema.js';

/**
 * One interface over the two engines (DuckDB embedded, ClickHouse distributed). The tenant is
 * a parameter of every read, checked here and placed in the WHERE clause by the engine's SQL
 * builder, so no caller can forget it.
 */
export interface FlowStore {
  readonly engine: 'duckdb' | 'clickhouse';
  /** Applies pending migrations; running it again is a no-op. Returns the versions applied now. */
  migrate(): Promise<number[]>;
  /** Writes a batch unless a batch with the same id was written before (`written: false` then). */
  writeBatch(meta: BatchMeta, batch: FlowBatch): Promise<{ written: boolean }>;
  /**
   * Several batches at once, answered in order; each as `writeBatch` would. The engines spread
   * their per-write cost over them (ClickHouse: one lookup, insert and ledger write; DuckDB: one
   * transaction). An id given twice is written once.
   */
  writeBatches(items: readonly WriteItem[]): Promise<{ written: boolean }[]>;
  /** The rows of one batch of this tenant, in their original order (tests, replay, consistency checks). */
  readBatch(tenant: string, batchId: string): Promise<FlowBatch>;
  timeSeries(tenant: string, q: TimeSeriesQuery, opts?: QueryOptions): Promise<TimeSeriesResult>;
  topN(tenant: string, q: TopNQuery, opts?: QueryOptions): Promise<TopNResult>;
  /** Groups by the dimensions with the three measures per key, the top `n` by `metric` (the edges of the service map). */
  aggregate(tenant: string, q: AggregateQuery, opts?: QueryOptions): Promise<AggregateResult>;
  /** Raw rows in (ts, batch_id, row_no) order, a page at a time: `after` is the last row of the previous page. */
  listFlows(tenant: string, q: FlowListQuery, opts?: QueryOptions): Promise<FlowListResult>;
  /**
   * Drops what is older than each table's retention, relative to `now`, per tenant (`policy`;
   * default: the store's configured days for every tenant). Returns what it removed per tier.
   */
  applyRetention(now?: Date, policy?: RetentionPolicy): Promise<RetentionReport>;
  close(): Promise<void>;
}

export interface WriteItem {
  meta: BatchMeta;
  batch: FlowBatch;
}

/**
 * Limits of one read; each engine honours them itself. DuckDB: the signal and `timeoutMs`
 * interrupt the store's connection while the read runs on it. ClickHouse: `timeoutMs` is the
 * statement's `max_execution_time`, and an aborted signal aborts the request and kills the
 * statement by its query id (the read settles once the server has stopped it).
 */
export interface QueryOptions {
  /** aborts the request; the promise rejects with the signal's reason */
  signal?: AbortSignal | undefined;
  /** the read's time limit; ClickHouse counts whole seconds, so it is rounded up there */
  timeoutMs?: number | undefined;
  /** ClickHouse: the statement's query_id (one is made when absent and a signal is given), killed when the signal aborts */
  queryId?: string | undefined;
  /** ClickHouse: per-query resource limits, sent as the statement's settings */
  limits?: ClickHouseQueryLimits | undefined;
}

/** Per-query limits of a ClickHouse read (settings of the same names; 18.16 has them all). */
export interface ClickHouseQueryLimits {
  /** max_memory_usage, bytes */
  maxMemoryUsage?: number | undefined;
  /** max_rows_to_read; 0: none */
  maxRowsToRead?: number | undefined;
  /** read_overflow_mode when max_rows_to_read is passed */
  readOverflowMode?: 'throw' | 'break' | undefined;
  /** max_threads of the statement; 0 or absent: the server's */
  maxThreads?: number | undefined;
}

export const TenantSchema = z
  .string({ error: 'tenant is required' })
  .min(1, 'tenant is required')
  .max(128, 'tenant longer than 128 characters');

export function checkTenant(tenant: unknown): string {
  const r = TenantSchema.safeParse(tenant);
  if (!r.success) throw new Error(`store query: ${r.error.issues[0]?.message ?? 'invalid tenant'}`);
  return r.data;
}

const knownField = z.string().refine((f) => FIELD_BY_NAME.has(f), { error: (i) => `unknown flow field ${JSON.stringify(i.input)}` });
/** A stored field or a derived one (query-sql.ts: region, zone, network, subnet, interface over the clouds' fields). */
const queryField = z.string().refine(isQueryField, { error: (i) => `unknown flow field ${JSON.stringify(i.input)}` });
/** Whole seconds: ClickHouse 18.16 stores the row time as DateTime (seconds), so finer bounds would differ by engine. */
const epochSecondsMs = z.number().int().refine((v) => v % 1000 === 0, 'time bounds are epoch milliseconds on a whole second');

export const FilterSchema = z
  .object({
    field: queryField,
    /**
     * in (absent): the field equals one of the values, null matching an absent value; not_in: the
     * rows `in` would not match; prefix: a string field starts with one of the values; cidr: an
     * address field is inside one of the networks (IPv4 or IPv6)
     */
    op: z.enum(['in', 'not_in', 'prefix', 'cidr']).optional(),
    values: z.array(z.union([z.string(), z.number(), z.null()])).min(1),
  })
  .superRefine((f, ctx) => {
    if (f.op !== 'prefix' && f.op !== 'cidr') return;
    if (!isStringField(f.field)) ctx.addIssue({ code: 'custom', message: `${f.op} applies to string fields, not ${f.field}`, path: ['op'] });
    f.values.forEach((v, i) => {
      if (typeof v !== 'string' || v === '') ctx.addIssue({ code: 'custom', message: `${f.op} takes non-empty strings`, path: ['values', i] });
      else if (f.op === 'cidr' && parseCidr(v) === null) ctx.addIssue({ code: 'custom', message: `not an IPv4 or IPv6 network: ${JSON.stringify(v)}`, path: ['values', i] });
    });
  });
export type Filter = z.infer<typeof FilterSchema>;

const RangeShape = {
  /** inclusive, epoch ms */
  from: epochSecondsMs,
  /** exclusive, epoch ms */
  to: epochSecondsMs,
  metric: z.enum(METRICS).default('bytes'),
  filters: z.array(FilterSchema).default([]),
  /** `auto` picks the coarsest table that answers exactly; naming one forces it (consistency checks) */
  use: z.enum(['auto', 'raw', '1m', '5m', '1h']).default('auto'),
};

export const TimeSeriesQuerySchema = z
  .object({ ...RangeShape, stepSeconds: z.number().int().min(1) })
  .refine((q) => q.to > q.from, 'time range is empty (to must be after from)');
export type TimeSeriesQuery = z.input<typeof TimeSeriesQuerySchema>;

export const TopNQuerySchema = z
  .object({ ...RangeShape, dimensions: z.array(queryField).min(1).max(8), n: z.number().int().min(1).max(10_000).default(10) })
  .refine((q) => q.to > q.from, 'time range is empty (to must be after from)');
export type TopNQuery = z.input<typeof TopNQuerySchema>;

/** Like top-N, up to 12 dimensions (both ends of an edge), every measure in each row; `metric` orders them. */
export const AggregateQuerySchema = z
  .object({ ...RangeShape, dimensions: z.array(queryField).min(1).max(12), n: z.number().int().min(1).max(100_000).default(1000) })
  .refine((q) => q.to > q.from, 'time range is empty (to must be after from)');
export type AggregateQuery = z.input<typeof AggregateQuerySchema>;

export interface AggregateResult {
  source: RollupSpec['name'] | 'raw';
  rows: { key: (string | number | null)[]; flows: number; packets: number; bytes: number }[];
}

/** A row's place in the (ts, batch_id, row_no) order; `tsUs` is the row time in epoch microseconds. */
export const FlowPositionSchema = z.object({ tsUs: z.number().int(), batchId: z.string().min(1).max(1024), rowNo: z.number().int().min(0) });
export type FlowPosition = z.infer<typeof FlowPositionSchema>;

export const FlowListQuerySchema = z
  .object({
    from: epochSecondsMs,
    to: epochSecondsMs,
    filters: z.array(FilterSchema).default([]),
    limit: z.number().int().min(1).max(10_000).default(100),
    order: z.enum(['asc', 'desc']).default('desc'),
    /** the last row of the previous page: this page starts right after it in `order` */
    after: FlowPositionSchema.optional(),
  })
  .refine((q) => q.to > q.from, 'time range is empty (to must be after from)');
export type FlowListQuery = z.input<typeof FlowListQuerySchema>;

export interface FlowListRow {
  position: FlowPosition;
  /** every stored field of the row by name, null where absent; times in epoch ms */
  fields: Record<string, string | number | null>;
  /** source fields outside the field table */
  extra: Record<string, string> | null;
}

export interface FlowListResult {
  rows: FlowListRow[];
}

export interface TimeSeriesResult {
  /** the table that answered: a rollup name or `raw` */
  source: RollupSpec['name'] | 'raw';
  /** bucket start (epoch ms) and metric; buckets with no flows are left out */
  points: { t: number; value: number }[];
}

export interface TopNResult {
  source: RollupSpec['name'] | 'raw';
  rows: { key: (string | number | null)[]; value: number }[];
}

export function parseQuery<S extends z.ZodType>(schema: S, q: unknown, what: string): z.output<S> {
  const r = schema.safeParse(q);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`store ${what}: ${i ? `${i.path.join('.') || 'query'}: ${i.message}` : 'invalid query'}`);
  }
  return r.data;
}

/**
 * The coarsest rollup that answers exactly: every field used is a rollup key, the range starts
 * and ends on its buckets, and the step (time series) is a whole number of its buckets.
 * Coarsest means fewest rows read.
 */
export function chooseRollup(
  fields: readonly string[],
  from: number,
  to: number,
  stepSeconds?: number,
  use: 'auto' | 'raw' | RollupSpec['name'] = 'auto',
): RollupSpec | null {
  if (use === 'raw') return null;
  const ok = fields.every((f) => ROLLUP_DIMS.includes(f));
  for (let i = ROLLUPS.length - 1; i >= 0; i--) {
    const r = ROLLUPS[i]!;
    if (use !== 'auto' && r.name !== use) continue;
    const ms = r.seconds * 1000;
    const fits = ok && from % ms === 0 && to % ms === 0 && (stepSeconds === undefined || stepSeconds % r.seconds === 0);
    if (use !== 'auto') {
      if (!fits) throw new Error(`store query: rollup ${r.name} cannot answer this query exactly (fields, range or step not on its keys and buckets)`);
      return r;
    }
    if (fits) return r;
  }
  return null;
}

/** Validates a batch and its header before any engine work; errors say which batch and what to do. */
export function checkBatch(meta: unknown, batch: FlowBatch): BatchMeta {
  const r = BatchMetaSchema.safeParse(meta);
  if (!r.success) {
    const i = r.error.issues[0];
    const where = i && i.path.length > 0 ? i.path.join('.') : 'header';
    throw new Error(`store writeBatch: invalid batch header (${where}: ${i?.message ?? 'invalid'})`);
  }
  const m = r.data;
  if (m.schema > FLOW_SCHEMA_VERSION) {
    throw new Error(
      `store writeBatch: batch ${m.id} has flow schema ${m.schema}, newer than this store's ${FLOW_SCHEMA_VERSION}; upgrade the store before consuming it`,
    );
  }
  if (m.records !== batch.length) {
    throw new Error(`store writeBatch: batch ${m.id} header says ${m.records} records but the body has ${batch.length}`);
  }
  return m;
}

export type { Metric };
