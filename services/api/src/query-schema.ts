import { z } from 'zod';
import { chooseRollup, ROLLUPS, type TimeSeriesQuery, type TopNQuery } from '@sightline/store';

/**
 * The query API's request shapes. Dimension names are the API's own (`dst_namespace`), mapped
 * to flow fields here, so the store's column names can change without breaking dashboards.
 */
const SIDED = {
  cluster: 'k8s_cluster',
  namespace: 'k8s_namespace',
  workload_kind: 'k8s_workload_kind',
  workload: 'k8s_workload',
  service: 'k8s_service',
  pod: 'k8s_pod',
  node: 'k8s_node',
  addr: 'addr',
  port: 'port',
} as const;

/** API dimension → flow field. */
export const DIMENSION_FIELDS: Readonly<Record<string, string>> = Object.fromEntries([
  ...(['src', 'dst'] as const).flatMap((side) => Object.entries(SIDED).map(([k, f]) => [`${side}_${k}`, `${side}_${f}`])),
  ['account', 'account'],
  ['protocol', 'protocol'],
  ['action', 'action'],
  ['direction', 'direction'],
]);
export const DIMENSIONS = Object.keys(DIMENSION_FIELDS) as [string, ...string[]];
const NUMERIC = new Set(['src_port', 'dst_port', 'protocol']);
/** The largest value each numeric dimension can hold (ports 16 bits, IANA protocol 8 bits). */
const NUMERIC_MAX: Readonly<Record<string, number>> = { src_port: 65_535, dst_port: 65_535, protocol: 255 };
/**
 * Dimensions with a closed set of values, stored in lower case. Clouds and their consoles write
 * them in capitals (AWS `ACCEPT`, Azure `A`/`D` decoded to accept/reject), so a filter value is
 * matched in any case; a value outside the set is a 400 naming the allowed ones, not an empty answer.
 */
export const ENUM_VALUES: Readonly<Record<string, readonly string[]>> = { action: ['accept', 'reject'], direction: ['ingress', 'egress'] };

/**
 * Times the API accepts: epoch 0 up to 2100. ClickHouse 18.16 stores the row time as DateTime,
 * unsigned 32-bit seconds (ends in 2106), and a time beyond either engine's range would be a
 * store error (500) instead of the client's mistake (400).
 */
export const MIN_TIME_MS = 0;
export const MAX_TIME_MS = Date.UTC(2100, 0, 1);
/** The widest bucket: a year and a day, far above any dashboard's and far below an overflow of microseconds. */
export const MAX_STEP_SECONDS = 366 * 86_400;
/** Longest string filter value (UTF-16 units). */
export const MAX_VALUE_LENGTH = 1024;

export const Dimension = z.enum(DIMENSIONS).meta({ description: 'what to group or filter by; src_/dst_ for either end of the flow' });
export const Metric = z.enum(['flows', 'packets', 'bytes']).meta({ description: 'summed per bucket or key; flows counts records' });
/** `auto`: the coarsest rollup that answers exactly (fewest rows read), else the raw table. */
export const Resolution = z.enum(['auto', 'raw', ...ROLLUPS.map((r) => r.name)]);

const Time = z
  .union([
    z.iso.datetime({ offset: true }).meta({ description: 'ISO 8601 with a zone' }),
    z.number().int().min(MIN_TIME_MS).max(MAX_TIME_MS).meta({ description: 'epoch milliseconds, up to 2100-01-01' }),
  ])
  .meta({ description: 'on a whole second; from is inclusive, to exclusive' });

// every numeric dimension is a port or the protocol; each one's own bound is checked in storeFilters
const Value = z.union([z.string().max(MAX_VALUE_LENGTH), z.number().int().min(0).max(65_535), z.null()]);
export const Filter = z.discriminatedUnion('op', [
  z.object({ dimension: Dimension, op: z.literal('eq'), value: Value }).strict(),
  z.object({ dimension: Dimension, op: z.literal('in'), values: z.array(Value).min(1).max(1000) }).strict(),
]);

const Step = z.union([
  z.number().int().min(1).max(MAX_STEP_SECONDS).meta({ description: 'seconds, at most 366 days' }),
  z
    .string()
    .regex(/^[1-9][0-9]{0,7}[smhd]$/, 'a duration such as 30s, 5m, 1h, 1d')
    .refine((s) => seconds(s) <= MAX_STEP_SECONDS, `at most ${MAX_STEP_SECONDS} seconds (366 days)`),
]);

const Common = {
  from: Time,
  to: Time,
  metric: Metric.default('bytes'),
  filters: z.array(Filter).max(32).default([]),
  resolution: Resolution.default('auto'),
};

export const TimeSeriesRequest = z
  .object({
    ...Common,
    step: Step.optional().meta({ description: 'bucket width; absent: the resolution rollup, else the smallest width giving at most 1000 points' }),
  })
  .strict()
  .meta({ id: 'TimeSeriesRequest' });

export const TopNRequest = z
  .object({
    ...Common,
    dimensions: z.array(Dimension).min(1).max(4),
    limit: z.number().int().min(1).max(1000).default(10),
  })
  .strict()
  .meta({ id: 'TopNRequest' });

export type TimeSeriesRequest = z.output<typeof TimeSeriesRequest>;
export type TopNRequest = z.output<typeof TopNRequest>;

export const TimeSeriesResponse = z
  .object({
    rollup: z.enum(['raw', ...ROLLUPS.map((r) => r.name)]).meta({ description: 'the table that answered' }),
    metric: Metric,
    from: z.number().int(),
    to: z.number().int(),
    step: z.number().int().meta({ description: 'seconds' }),
    points: z.array(z.object({ t: z.number().int().meta({ description: 'bucket start, epoch ms' }), value: z.number() })),
  })
  .meta({ id: 'TimeSeriesResponse' });

export const TopNResponse = z
  .object({
    rollup: z.enum(['raw', ...ROLLUPS.map((r) => r.name)]),
    metric: Metric,
    from: z.number().int(),
    to: z.number().int(),
    dimensions: z.array(Dimension),
    rows: z.array(z.object({ key: z.record(z.string(), z.union([z.string(), z.number(), z.null()])), value: z.number() })),
  })
  .meta({ id: 'TopNResponse' });

export const ErrorResponse = z
  .object({ error: z.string(), message: z.string(), path: z.string().optional() })
  .meta({ id: 'Error' });

/** A query rejected before it reaches the store; `path` is where in the request (zod path). */
export class QueryError extends Error {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

const MAX_POINTS = 10_000;
const AUTO_STEPS = [60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400];

function ms(t: string | number, where: string): number {
  const v = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(v)) throw new QueryError('not a time', where);
  if (v < MIN_TIME_MS || v > MAX_TIME_MS) throw new QueryError('outside 1970-01-01 to 2100-01-01', where);
  if (v % 1000 !== 0) throw new QueryError('times are on a whole second', where);
  return v;
}

function seconds(step: string | number): number {
  if (typeof step === 'number') return step;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[step.slice(-1) as 's' | 'm' | 'h' | 'd'];
  return Number(step.slice(0, -1)) * unit;
}

function storeFilters(filters: TimeSeriesRequest['filters']): { field: string; values: (string | number | null)[] }[] {
  return filters.map((f, i) => {
    const values = f.op === 'eq' ? [f.value] : f.values;
    for (const [k, v] of values.entries()) {
      const numeric = NUMERIC.has(f.dimension);
      const where = f.op === 'eq' ? `filters.${i}.value` : `filters.${i}.values.${k}`;
      if (v !== null && numeric !== (typeof v === 'number')) throw new QueryError(`${f.dimension} takes ${numeric ? 'numbers' : 'strings'}`, where);
      const max = NUMERIC_MAX[f.dimension];
      if (typeof v === 'number' && max !== undefined && v > max) throw new QueryError(`${f.dimension} is at most ${max}`, where);
    }
    const allowed = ENUM_VALUES[f.dimension];
    if (allowed === undefined) return { field: DIMENSION_FIELDS[f.dimension]!, values };
    const folded = values.map((v, k) => {
      if (typeof v !== 'string') return v;
      const low = v.toLowerCase();
      if (!allowed.includes(low)) throw new QueryError(`${f.dimension} is one of ${allowed.join(', ')} (any case) or null`, f.op === 'eq' ? `filters.${i}.value` : `filters.${i}.values.${k}`);
      return low;
    });
    return { field: DIMENSION_FIELDS[f.dimension]!, values: folded };
  });
}

function range(r: { from: string | number; to: string | number }): { from: number; to: number } {
  const from = ms(r.from, 'from');
  const to = ms(r.to, 'to');
  if (to <= from) throw new QueryError('the range is empty: to must be after from', 'to');
  return { from, to };
}

/** Checks what the store would refuse and says where; the rollup named (or forced) is the one the store uses. */
function rollupFor(fields: string[], from: number, to: number, step: number | undefined, resolution: TimeSeriesRequest['resolution']): string {
  try {
    return chooseRollup(fields, from, to, step, resolution)?.name ?? 'raw';
  } catch {
    throw new QueryError(
      `the ${resolution} rollup cannot answer this query exactly: every dimension and filter must be a rollup key, from/to on its buckets and the step a multiple of it`,
      'resolution',
    );
  }
}

export function toStoreTimeSeries(r: TimeSeriesRequest): { query: TimeSeriesQuery; rollup: string; step: number } {
  const { from, to } = range(r);
  const forced = ROLLUPS.find((x) => x.name === r.resolution);
  let step = r.step === undefined ? undefined : seconds(r.step);
  if (step === undefined) {
    const floor = forced?.seconds ?? 1;
    step = AUTO_STEPS.find((s) => s >= floor && s % floor === 0 && (to - from) / 1000 / s <= 1000) ?? AUTO_STEPS[AUTO_STEPS.length - 1]!;
  }
  if ((to - from) / 1000 / step > MAX_POINTS) throw new QueryError(`more than ${MAX_POINTS} points: widen the step`, 'step');
  const filters = storeFilters(r.filters);
  const rollup = rollupFor(filters.map((f) => f.field), from, to, step, r.resolution);
  return { query: { from, to, stepSeconds: step, metric: r.metric, filters, use: r.resolution }, rollup, step };
}

export function toStoreTopN(r: TopNRequest): { query: TopNQuery; rollup: string } {
  const { from, to } = range(r);
  const seen = new Set<string>();
  r.dimensions.forEach((d, i) => {
    if (seen.has(d)) throw new QueryError(`${d} is named twice`, `dimensions.${i}`);
    seen.add(d);
  });
  const filters = storeFilters(r.filters);
  const dimensions = r.dimensions.map((d) => DIMENSION_FIELDS[d]!);
  const rollup = rollupFor([...dimensions, ...filters.map((f) => f.field)], from, to, undefined, r.resolution);
  return { query: { from, to, dimensions, n: r.limit, metric: r.metric, filters, use: r.resolution }, rollup };
}

/**
 * A GET query string as the JSON body it stands for: `dimension` (repeated or comma-separated),
 * `where.<dimension>=v` or `where[<dimension>]=v` (repeated: any of them), numbers where the JSON has numbers. `null` is
 * only expressible in a POST body.
 */
export function fromSearchParams(p: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const filters: { dimension: string; op: 'in'; values: (string | number)[] }[] = [];
  const num = (v: string): string | number => (/^[0-9]{1,15}$/.test(v) ? Number(v) : v);
  for (const [k, v] of p) {
    const w = /^where(?:\.([a-z_]+)|\[([a-z_]+)\])$/.exec(k);
    if (w) {
      const dimension = (w[1] ?? w[2])!;
      const value = NUMERIC.has(dimension) ? num(v) : v;
      const f = filters.find((x) => x.dimension === dimension);
      if (f) f.values.push(value);
      else filters.push({ dimension, op: 'in', values: [value] });
    } else if (k === 'dimension' || k === 'dimensions') {
      const list = (out.dimensions as string[] | undefined) ?? [];
      list.push(...v.split(',').filter((x) => x !== ''));
      out.dimensions = list;
    } else if (k === 'from' || k === 'to' || k === 'step' || k === 'limit') {
      out[k] = num(v);
    } else {
      out[k] = v;
    }
  }
  if (filters.length > 0) out.filters = filters;
  return out;
}

/** The first zod issue as a 400 reason with its path. */
export function describeIssue(err: z.ZodError): { path: string; message: string } {
  const i = err.issues[0];
  // an unknown key is the field at fault itself, not the object holding it
  const at = i === undefined ? [] : i.code === 'unrecognized_keys' && i.keys.length > 0 ? [...i.path, i.keys[0]!] : i.path;
  const path = at.length > 0 ? at.join('.') : '(request)';
  return { path, message: `${path}: ${i?.message ?? 'invalid query'}` };
}
