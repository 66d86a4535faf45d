import { z } from 'zod';
import { CLOUD_NAMES } from '@sightline/kube-model';
import {
  chooseRollup,
  parseCidr,
  ROLLUPS,
  type AggregateQuery,
  type AggregateResult,
  type Filter as StoreFilter,
  type FlowListQuery,
  type FlowListRow,
  type FlowPosition,
  type TimeSeriesQuery,
  type TopNQuery,
} from '@sightline/store';

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
  // the server side's port: the lower of the two, so a request and its reply share it; the rollups
  // are keyed by it (dst_port, a reply's ephemeral port, is answered by the raw table); store schema.ts
  ['service_port', 'service_port'],
  ['protocol', 'protocol'],
  ['action', 'action'],
  ['direction', 'direction'],
  // where the record was logged, one dimension over the clouds' own fields (store derived-fields.ts)
  ['cloud', 'cloud'],
  ['region', 'net_region'],
  ['zone', 'net_zone'],
  ['network', 'net_network'],
  ['subnet', 'net_subnet'],
  ['interface', 'net_interface'],
]);
export const DIMENSIONS = Object.keys(DIMENSION_FIELDS) as [string, ...string[]];
const NUMERIC = new Set(['src_port', 'dst_port', 'service_port', 'protocol']);
/** Dimensions holding an IP address, the ones a `cidr` filter applies to. */
export const ADDRESS_DIMENSIONS: readonly string[] = ['src_addr', 'dst_addr'];
/** The largest value each numeric dimension can hold (ports 16 bits, IANA protocol 8 bits). */
const NUMERIC_MAX: Readonly<Record<string, number>> = { src_port: 65_535, dst_port: 65_535, service_port: 65_535, protocol: 255 };
/**
 * Dimensions with a closed set of values, stored in lower case. Clouds and their consoles write
 * them in capitals (AWS `ACCEPT`, Azure `A`/`D` decoded to accept/reject), so a filter value is
 * matched in any case; a value outside the set is a 400 naming the allowed ones, not an empty answer.
 */
export const ENUM_VALUES: Readonly<Record<string, readonly string[]>> = { action: ['accept', 'reject'], direction: ['ingress', 'egress'], cloud: CLOUD_NAMES };

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

export const Dimension = z
  .enum(DIMENSIONS)
  .meta({
    description:
      'what to group or filter by; src_/dst_ for either end of the flow; service_port: the lower of the two ports (the server side, the same for a request and its reply), which the rollups keep; dst_port and src_port are answered by the raw table',
  });
export const Metric = z.enum(['flows', 'packets', 'bytes']).meta({ description: 'summed per bucket or key; flows counts records' });
/** `auto`: the coarsest rollup that answers exactly (fewest rows read), else the raw table. */
export const Resolution = z.enum(['auto', 'raw', ...ROLLUPS.map((r) => r.name)]);

/** `now`, `now-15m`, `now-24h`, `now-7d`, `now-2w`, optionally rounded down: `now-24h/h`, `now/m`. */
export const RELATIVE_TIME = /^now(?:-([1-9][0-9]{0,7})([smhdw]))?(?:\/([mhd]))?$/;

const Time = z
  .union([
    z.iso.datetime({ offset: true }).meta({ description: 'ISO 8601 with a zone' }),
    z.number().int().min(MIN_TIME_MS).max(MAX_TIME_MS).meta({ description: 'epoch milliseconds, up to 2100-01-01' }),
    z
      .string()
      .regex(RELATIVE_TIME, 'now, now-<n><s|m|h|d|w>, optionally /m, /h or /d to round down')
      .meta({
        description:
          'relative to when the request arrived (rounded down to its second): now, now-15m, now-24h, now-7d, now-2w; a /m, /h or /d suffix rounds down to the minute, hour or day (UTC), which lets a rollup answer (now-24h/h to now/h)',
      }),
  ])
  .meta({ description: 'on a whole second; from is inclusive, to exclusive' });

// every numeric dimension is a port or the protocol; each one's own bound is checked in storeFilters
const Value = z.union([z.string().max(MAX_VALUE_LENGTH), z.number().int().min(0).max(65_535), z.null()]);
export const Filter = z
  .discriminatedUnion('op', [
    z.object({ dimension: Dimension, op: z.literal('eq'), value: Value }).strict().meta({ description: 'equal to the value; null: absent' }),
    z.object({ dimension: Dimension, op: z.literal('ne'), value: Value }).strict().meta({ description: 'not equal (an absent value is not equal to a value); null: present' }),
    z.object({ dimension: Dimension, op: z.literal('in'), values: z.array(Value).min(1).max(1000) }).strict().meta({ description: 'any of the values' }),
    z
      .object({ dimension: Dimension, op: z.literal('not_in'), values: z.array(Value).min(1).max(1000) })
      .strict()
      .meta({ description: 'none of the values: the rows `in` would not match (absent values included unless null is listed)' }),
    z
      .object({ dimension: Dimension, op: z.literal('prefix'), value: z.string().min(1).max(MAX_VALUE_LENGTH) })
      .strict()
      .meta({ description: 'string dimensions: starts with the value (case-sensitive); absent values never match' }),
    z
      .object({ dimension: Dimension, op: z.literal('cidr'), value: z.string().min(2).max(64) })
      .strict()
      .meta({ description: 'src_addr, dst_addr: inside the IPv4 or IPv6 network, such as 10.0.0.0/8 or 2001:db8::/32 (a bare address is a /32 or /128)' }),
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

const RollupName = z.enum(['raw', ...ROLLUPS.map((r) => r.name)]).meta({ description: 'the table that answered' });

/** Most edges an answer may carry (the console's map stays interactive at 5,000). */
export const MAX_EDGES = 10_000;

export const EdgesRequest = z
  .object({
    ...Common,
    metric: Metric.default('bytes').meta({ description: 'the weight the top `limit` edges are chosen by; every edge carries all three' }),
    limit: z.number().int().min(1).max(MAX_EDGES).default(1000).meta({ description: 'top-K edges by metric' }),
    group: z
      .enum(['workload', 'namespace', 'cluster'])
      .default('workload')
      .meta({ description: 'what a node is: a workload (cluster, namespace, kind, workload), a namespace (cluster, namespace) or a cluster' }),
    peers: z
      .enum(['split', 'merged'])
      .default('split')
      .meta({
        description:
          'ends attributed to no cluster: split into an `internet` node (public address) and an `unattributed` node (private, or no address), which needs the raw table; merged: one `unattributed` node, which the rollups answer',
      }),
  })
  .strict()
  .meta({ id: 'EdgesRequest' });
export type EdgesRequest = z.output<typeof EdgesRequest>;

const Nullable = z.string().nullable();
export const GraphNode = z
  .object({
    id: z.string().meta({ description: 'opaque; `internet` and `unattributed` for the peers, else built from the node\'s keys' }),
    type: z.enum(['workload', 'internet', 'unattributed']),
    cluster: Nullable,
    namespace: Nullable.meta({ description: 'null for a node or host end, or with group cluster' }),
    kind: Nullable.meta({ description: 'workload kind (Deployment, StatefulSet, ...); null with group namespace or cluster' }),
    workload: Nullable,
  });

export const GraphEdge = z
  .object({
    src: z.string().meta({ description: 'node id' }),
    dst: z.string().meta({ description: 'node id' }),
    flows: z.number(),
    packets: z.number(),
    bytes: z.number(),
  });

export const EdgesResponse = z
  .object({
    rollup: RollupName,
    metric: Metric,
    from: z.number().int(),
    to: z.number().int(),
    group: z.enum(['workload', 'namespace', 'cluster']),
    peers: z.enum(['split', 'merged']),
    nodes: z.array(GraphNode).meta({ description: 'every node an edge names, and no other' }),
    edges: z.array(GraphEdge).meta({ description: 'src -> dst, heaviest first by metric' }),
    truncated: z.boolean().meta({ description: 'more edges matched than limit' }),
  })
  .meta({ id: 'EdgesResponse' });

/** Most flows one page may carry. */
export const MAX_PAGE = 1000;

export const FlowsRequest = z
  .object({
    from: Time,
    to: Time,
    filters: z.array(Filter).max(32).default([]),
    limit: z.number().int().min(1).max(MAX_PAGE).default(100).meta({ description: 'page size' }),
    order: z.enum(['desc', 'asc']).default('desc').meta({ description: 'newest first (desc) or oldest first, on (time, batch, row)' }),
    cursor: z.string().min(1).max(2048).optional().meta({ description: 'the `next` of the previous page, with the same query; absent: the first page' }),
  })
  .strict()
  .meta({ id: 'FlowsRequest' });
export type FlowsRequest = z.output<typeof FlowsRequest>;

const Scalar = z.union([z.string(), z.number(), z.null()]);
const K8sEnd = z
  .object({
    kind: Nullable,
    cluster: Nullable,
    namespace: Nullable,
    pod: Nullable,
    node: Nullable,
    workload: Nullable,
    workload_kind: Nullable,
    service: Nullable,
    zone: Nullable,
    labels: Nullable.meta({ description: 'JSON object string of the allow-listed pod labels' }),
  })
  .meta({ description: 'the Kubernetes attribution of this end; all null when unattributed' });
const End = z.object({ addr: Nullable, port: z.number().nullable(), k8s: K8sEnd });

export const FlowRow = z
  .object({
    id: z.string().meta({ description: 'stable id of the stored row (batch and row number)' }),
    ts: z.number().int().meta({ description: 'the row time (flow start, else end, else the record time), epoch ms' }),
    cloud: Nullable,
    account: Nullable,
    src: End,
    dst: End,
    protocol: z.number().nullable(),
    packets: z.number().nullable(),
    bytes: z.number().nullable(),
    action: Nullable,
    direction: Nullable,
    start: z.number().nullable().meta({ description: 'epoch ms' }),
    end: z.number().nullable().meta({ description: 'epoch ms' }),
    fields: z
      .record(z.string(), Scalar)
      .meta({ description: 'every other field of the record that has a value (the cloud\'s own: vpc_id, subnet_id, interface_id, region, reporter, rule, ...; times in epoch ms), and the source fields outside the field table' }),
  });

export const FlowsResponse = z
  .object({
    from: z.number().int(),
    to: z.number().int(),
    order: z.enum(['desc', 'asc']),
    rows: z.array(FlowRow),
    next: z.string().nullable().meta({ description: 'cursor of the next page; null on the last page' }),
  })
  .meta({ id: 'FlowsResponse' });

export const DeadLettersRequest = z
  .object({
    from: Time.optional().meta({ description: 'letters at or after; absent: the oldest kept' }),
    to: Time.optional().meta({ description: 'letters before; absent: now' }),
    limit: z.number().int().min(1).max(MAX_PAGE).default(100),
  })
  .strict()
  .meta({ id: 'DeadLettersRequest' });
export type DeadLettersRequest = z.output<typeof DeadLettersRequest>;

export const DeadLetterView = z
  .object({
    at: z.number().int().meta({ description: 'when it was dead-lettered, epoch ms' }),
    kind: z.string().meta({ description: 'bad-object | unreadable-object | bad-record | incomplete-record' }),
    reason: z.string(),
    stage: z.string().meta({ description: 'the stage that wrote it (collector)' }),
    cloud: Nullable,
    account: Nullable,
    bucket: Nullable.meta({ description: 'bucket or container' }),
    object: Nullable.meta({ description: 'object key or blob name' }),
    version: Nullable,
    line: z.number().int().nullable(),
    offset: z.number().int().nullable().meta({ description: 'byte offset in the (decompressed) object' }),
    range: z.object({ start: z.number(), end: z.number() }).nullable(),
    blocks: z.object({ first: z.number(), last: z.number() }).nullable(),
  });
export type DeadLetterView = z.infer<typeof DeadLetterView>;

export const DeadLettersResponse = z
  .object({
    available: z.boolean().meta({ description: 'false when this server reads no dead letters (no source configured): letters is then empty' }),
    from: z.number().int().nullable(),
    to: z.number().int(),
    letters: z.array(DeadLetterView).meta({ description: 'newest first' }),
    truncated: z.boolean().meta({ description: 'more letters in the range than limit' }),
    kept: z.number().int().meta({ description: 'letters kept per tenant by this server (the oldest go first)' }),
  })
  .meta({ id: 'DeadLettersResponse' });

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

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** A request time as epoch ms; a relative one (`now-1h`, `now-24h/h`) against `now`, the request's arrival. */
function ms(t: string | number, where: string, now: number): number {
  let v: number;
  const rel = typeof t === 'string' ? RELATIVE_TIME.exec(t) : null;
  if (rel) {
    v = Math.floor(now / 1000) * 1000;
    if (rel[1] !== undefined) v -= Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
    if (rel[3] !== undefined) v = Math.floor(v / UNIT_MS[rel[3] as 'm' | 'h' | 'd']) * UNIT_MS[rel[3] as 'm' | 'h' | 'd'];
  } else v = typeof t === 'number' ? t : Date.parse(t);
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

type ApiFilter = z.output<typeof Filter>;

/** The API's filters as the store's: eq/ne are in/not_in of one value; values checked against their dimension. */
function storeFilters(filters: readonly ApiFilter[]): StoreFilter[] {
  return filters.map((f, i): StoreFilter => {
    const field = DIMENSION_FIELDS[f.dimension]!;
    const single = f.op === 'eq' || f.op === 'ne' || f.op === 'prefix' || f.op === 'cidr';
    const at = (k: number) => (single ? `filters.${i}.value` : `filters.${i}.values.${k}`);
    const numeric = NUMERIC.has(f.dimension);
    if (f.op === 'prefix') {
      if (numeric) throw new QueryError(`prefix applies to string dimensions, not ${f.dimension}`, `filters.${i}.op`);
      return { field, op: 'prefix', values: [f.value] };
    }
    if (f.op === 'cidr') {
      if (!ADDRESS_DIMENSIONS.includes(f.dimension)) throw new QueryError(`cidr applies to ${ADDRESS_DIMENSIONS.join(', ')}, not ${f.dimension}`, `filters.${i}.op`);
      if (parseCidr(f.value) === null) throw new QueryError('not an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32', at(0));
      return { field, op: 'cidr', values: [f.value] };
    }
    const values = f.op === 'eq' || f.op === 'ne' ? [f.value] : f.values;
    const op = f.op === 'eq' || f.op === 'in' ? undefined : 'not_in';
    for (const [k, v] of values.entries()) {
      if (v !== null && numeric !== (typeof v === 'number')) throw new QueryError(`${f.dimension} takes ${numeric ? 'numbers' : 'strings'}`, at(k));
      const max = NUMERIC_MAX[f.dimension];
      if (typeof v === 'number' && max !== undefined && v > max) throw new QueryError(`${f.dimension} is at most ${max}`, at(k));
    }
    const allowed = ENUM_VALUES[f.dimension];
    const folded =
      allowed === undefined
        ? values
        : values.map((v, k) => {
            if (typeof v !== 'string') return v;
            const low = v.toLowerCase();
            if (!allowed.includes(low)) throw new QueryError(`${f.dimension} is one of ${allowed.join(', ')} (any case) or null`, at(k));
            return low;
          });
    return op === undefined ? { field, values: folded } : { field, op, values: folded };
  });
}

function range(r: { from: string | number; to: string | number }, now: number): { from: number; to: number } {
  const from = ms(r.from, 'from', now);
  const to = ms(r.to, 'to', now);
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

export function toStoreTimeSeries(r: TimeSeriesRequest, now = Date.now()): { query: TimeSeriesQuery; rollup: string; step: number } {
  const { from, to } = range(r, now);
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

export function toStoreTopN(r: TopNRequest, now = Date.now()): { query: TopNQuery; rollup: string } {
  const { from, to } = range(r, now);
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

/** The node keys of each end per group (store fields), then the peer split's field when asked. */
const NODE_KEYS = { workload: ['cluster', 'namespace', 'workload_kind', 'workload'], namespace: ['cluster', 'namespace'], cluster: ['cluster'] } as const;

export interface EdgesPlan {
  query: AggregateQuery;
  rollup: string;
  /** store key of each end's node keys, in order; `peer` is the index of the end's peer field (split) */
  sides: { keys: number[]; peer: number | null }[];
}

/** The edges query as a store aggregate over both ends' node keys (and, split, each end's internet flag). */
export function toStoreEdges(r: EdgesRequest, now = Date.now()): EdgesPlan {
  const { from, to } = range(r, now);
  const filters = storeFilters(r.filters);
  const dimensions: string[] = [];
  const sides = (['src', 'dst'] as const).map((side) => {
    const keys = NODE_KEYS[r.group].map((k) => dimensions.push(`${side}_k8s_${k}`) - 1);
    const peer = r.peers === 'split' ? dimensions.push(`${side}_peer`) - 1 : null;
    return { keys, peer };
  });
  const rollup = rollupFor([...dimensions, ...filters.map((f) => f.field)], from, to, undefined, r.resolution);
  return { query: { from, to, dimensions, n: r.limit + 1, metric: r.metric, filters, use: r.resolution }, rollup, sides };
}

export type GraphNodeView = z.infer<typeof GraphNode>;

/** Store rows (both ends' keys) as the map's nodes and edges; ends attributed to no cluster are the peer nodes. */
export function edgesAnswer(plan: EdgesPlan, r: EdgesRequest, rows: AggregateResult['rows']): { nodes: GraphNodeView[]; edges: z.infer<typeof GraphEdge>[]; truncated: boolean } {
  const nodes = new Map<string, GraphNodeView>();
  const nodeOf = (key: AggregateResult['rows'][number]['key'], side: EdgesPlan['sides'][number]): string => {
    const v = side.keys.map((k) => (key[k] === null || key[k] === undefined ? null : String(key[k])));
    let n: GraphNodeView;
    if (v[0] === null) {
      const type = side.peer !== null && key[side.peer] === 'internet' ? 'internet' : 'unattributed';
      n = { id: type, type, cluster: null, namespace: null, kind: null, workload: null };
    } else {
      const [cluster, namespace = null, kind = null, workload = null] = v as [string, ...(string | null)[]];
      // the id says which group it was built for, so ids of different groupings never collide
      const id = `${r.group[0]}:${[cluster, namespace, kind, workload].slice(0, v.length).map((x) => x ?? '').join('/')}`;
      n = { id, type: 'workload', cluster, namespace, kind, workload };
    }
    if (!nodes.has(n.id)) nodes.set(n.id, n);
    return n.id;
  };
  // rows of the same node pair (the rollup's empty key and a raw null, or peers split into one type) are added together
  const edges = new Map<string, z.infer<typeof GraphEdge>>();
  for (const row of rows.slice(0, r.limit)) {
    const src = nodeOf(row.key, plan.sides[0]!);
    const dst = nodeOf(row.key, plan.sides[1]!);
    const k = JSON.stringify([src, dst]);
    const e = edges.get(k);
    if (e) {
      e.flows += row.flows;
      e.packets += row.packets;
      e.bytes += row.bytes;
    } else edges.set(k, { src, dst, flows: row.flows, packets: row.packets, bytes: row.bytes });
  }
  const list = [...edges.values()].sort((a, b) => b[r.metric] - a[r.metric] || (a.src < b.src ? -1 : a.src > b.src ? 1 : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
  return { nodes: [...nodes.values()], edges: list, truncated: rows.length > r.limit };
}

/** The cursor: where the previous page ended, base64url JSON, opaque to clients. */
const Cursor = z.object({ v: z.literal(1), t: z.number().int(), b: z.string().min(1).max(1024), r: z.number().int().min(0), o: z.enum(['asc', 'desc']) }).strict();

export function encodeCursor(p: FlowPosition, order: 'asc' | 'desc'): string {
  return Buffer.from(JSON.stringify({ v: 1, t: p.tsUs, b: p.batchId, r: p.rowNo, o: order })).toString('base64url');
}

function decodeCursor(c: string, order: 'asc' | 'desc'): FlowPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
  } catch {
    throw new QueryError('not a cursor of this API: send the `next` of the previous page as it was', 'cursor');
  }
  const r = Cursor.safeParse(parsed);
  if (!r.success) throw new QueryError('not a cursor of this API: send the `next` of the previous page as it was', 'cursor');
  if (r.data.o !== order) throw new QueryError(`this cursor is for order ${r.data.o}: ask with the same order as the previous page`, 'cursor');
  return { tsUs: r.data.t, batchId: r.data.b, rowNo: r.data.r };
}

export function toStoreFlows(r: FlowsRequest, now = Date.now()): FlowListQuery {
  const { from, to } = range(r, now);
  const filters = storeFilters(r.filters);
  return { from, to, filters, limit: r.limit, order: r.order, ...(r.cursor !== undefined ? { after: decodeCursor(r.cursor, r.order) } : {}) };
}

const K8S_KEYS = ['kind', 'cluster', 'namespace', 'pod', 'node', 'workload', 'workload_kind', 'service', 'zone', 'labels'] as const;
const TOP_LEVEL = new Set(['cloud', 'account', 'protocol', 'packets', 'bytes', 'action', 'direction', 'start', 'end', 'src_addr', 'dst_addr', 'src_port', 'dst_port']);

/** One stored row as the explorer's row: both ends with their Kubernetes fields, the record's other fields by name. */
export function flowRowView(row: FlowListRow): z.infer<typeof FlowRow> {
  const f = row.fields;
  const str = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : null);
  const num = (k: string) => (typeof f[k] === 'number' ? (f[k] as number) : null);
  const end = (side: 'src' | 'dst') => ({
    addr: str(`${side}_addr`),
    port: num(`${side}_port`),
    k8s: Object.fromEntries(K8S_KEYS.map((k) => [k, str(`${side}_k8s_${k}`)])) as Record<(typeof K8S_KEYS)[number], string | null>,
  });
  const fields: Record<string, string | number | null> = {};
  for (const [k, v] of Object.entries(f)) if (v !== null && !TOP_LEVEL.has(k) && !/^(src|dst)_k8s_/.test(k)) fields[k] = v;
  for (const [k, v] of Object.entries(row.extra ?? {})) if (!(k in fields) && !(k in f)) fields[k] = v;
  return {
    id: `${row.position.batchId}:${row.position.rowNo}`,
    ts: Math.floor(row.position.tsUs / 1000),
    cloud: str('cloud'),
    account: str('account'),
    src: end('src'),
    dst: end('dst'),
    protocol: num('protocol'),
    packets: num('packets'),
    bytes: num('bytes'),
    action: str('action'),
    direction: str('direction'),
    start: num('start'),
    end: num('end'),
    fields,
  };
}

/** The dead-letter range: absent from is the oldest kept, absent to is now. */
export function deadLetterRange(r: DeadLettersRequest, now = Date.now()): { from: number | null; to: number } {
  const from = r.from === undefined ? null : ms(r.from, 'from', now);
  const to = r.to === undefined ? Math.floor(now / 1000) * 1000 + 1000 : ms(r.to, 'to', now);
  if (from !== null && to <= from) throw new QueryError('the range is empty: to must be after from', 'to');
  return { from, to };
}

/**
 * A GET query string as the JSON body it stands for: `dimension` (repeated or comma-separated),
 * `where.<dimension>=v` or `where[<dimension>]=v` (repeated: any of them), numbers where the JSON has numbers. `null` is
 * only expressible in a POST body.
 */
export function fromSearchParams(p: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const filters: Record<string, unknown>[] = [];
  const lists = new Map<string, { values: (string | number)[] }>();
  const num = (v: string): string | number => (/^[0-9]{1,15}$/.test(v) ? Number(v) : v);
  for (const [k, v] of p) {
    const w = /^where(?:\.([a-z_]+)(?:\.([a-z_]+))?|\[([a-z_]+)\](?:\[([a-z_]+)\])?)$/.exec(k);
    if (w) {
      const dimension = (w[1] ?? w[3])!;
      const op = w[2] ?? w[4] ?? 'in';
      const value = NUMERIC.has(dimension) ? num(v) : v;
      if (op === 'in' || op === 'not_in') {
        // repeated: any of them (in), none of them (not_in)
        const f = lists.get(`${dimension}\u0000${op}`);
        if (f) f.values.push(value);
        else {
          const nf = { dimension, op, values: [value] };
          lists.set(`${dimension}\u0000${op}`, nf);
          filters.push(nf);
        }
      } else filters.push({ dimension, op, value });
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
