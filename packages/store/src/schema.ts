import { CLOUDS, colIndex, FIELD_LIST, type Cloud, type FieldSpec, type FlowBatch } from '@sightline/flow';

/**
 * The stored shape of an enriched flow, derived from the flow field table so a field added
 * there becomes a column here (through a new migration) without a second list to keep in step.
 * Both engines share these names; each engine maps the kinds to its own types.
 */

/**
 * Number fields that are integers by definition. Stored as 64-bit integers (compact, exact);
 * every other number field (rtt) stays a double so a fractional value is never truncated.
 */
export const INTEGER_FIELDS: ReadonlySet<string> = new Set([
  'src_port',
  'dst_port',
  'protocol',
  'packets',
  'bytes',
  'packets_src_to_dst',
  'bytes_src_to_dst',
  'packets_dst_to_src',
  'bytes_dst_to_src',
  'version',
  'tcp_flags',
  'traffic_path',
  'src_location_asn',
  'dest_location_asn',
  'flow_log_version',
  'packets_lost_no_route',
  'packets_lost_blackhole',
  'packets_lost_mtu_exceeded',
  'packets_lost_ttl_expired',
]);

/**
 * String fields with few distinct values per tenant: dictionary-encoded where the engine can
 * (ClickHouse LowCardinality; DuckDB picks dictionary compression by itself).
 */
export const LOW_CARDINALITY_FIELDS: ReadonlySet<string> = new Set(
  FIELD_LIST.filter(
    (s) =>
      s.kind === 'string' &&
      !/(_addr|addr|_pod|_id|_arn|labels|insert_id|mac)$/.test(s.name) &&
      !['src_k8s_pod', 'dst_k8s_pod', 'flow_log_guid'].includes(s.name),
  ).map((s) => s.name),
);

export interface StoredField {
  readonly spec: FieldSpec;
  /** index in FlowBatch.columns */
  readonly col: number;
  readonly integer: boolean;
  readonly lowCardinality: boolean;
}

export const STORED_FIELDS: readonly StoredField[] = FIELD_LIST.map((spec) => ({
  spec,
  col: colIndex(spec.name),
  integer: spec.kind === 'number' && INTEGER_FIELDS.has(spec.name),
  lowCardinality: LOW_CARDINALITY_FIELDS.has(spec.name),
}));

/**
 * The row's time for partitioning, ordering, rollup buckets and retention: the first of these
 * the record has. Every source fills `start`; the others cover records that lack it.
 */
export const TIME_SOURCES: readonly number[] = ['start', 'end', 'timestamp', 'record_time'].map(colIndex);

/** The row's time (ms) for partitioning and the rollups: the first time field it has, else the batch's creation. */
export function rowTime(batch: FlowBatch, r: number, fallback: number): number {
  for (const c of TIME_SOURCES) {
    const col = batch.columns[c];
    if (col instanceof Float64Array) {
      const v = col[r]!;
      if (!Number.isNaN(v)) return v;
    }
  }
  return fallback;
}

/** Kubernetes dimensions the rollups are keyed by, for each end (pods and nodes stay in the raw table). */
export const K8S_ROLLUP_DIMS = ['cluster', 'namespace', 'workload_kind', 'workload'] as const;

/**
 * The rollups' port: the flow's **service port**, the lower of its two ports (one absent: the other;
 * both absent: null). A connection's request and reply records then share one port, the server's:
 * a reply's `dst_port` is the client's ephemeral port, so keying by `dst_port` (the rollups before
 * DuckDB migration 4 / ClickHouse migration 8) made the rollups about as large as the raw table (the
 * 40x samples: 146,857 1h keys for 449,616 flows). Listening ports sit below the ephemeral ranges
 * (IANA 49152+, Linux 32768+), so the lower port is the server's for well-known and registered
 * services and for Kubernetes NodePorts (30000-32767); the rule is the one nfdump's `-B` and most flow
 * tools use. It needs nothing but the two ports, so both engines, the raw table and every rollup
 * compute the same value, and it does not depend on which side reported the flow.
 * `dst_port` is no longer a rollup key: a query naming it is answered by the raw table (query-plan.ts).
 */
export const SERVICE_PORT = 'service_port';

/** Rollup key columns: the Kubernetes ends, the service port, protocol, action, direction. */
export const ROLLUP_DIMS: readonly string[] = [
  ...K8S_ROLLUP_DIMS.map((d) => `src_k8s_${d}`),
  ...K8S_ROLLUP_DIMS.map((d) => `dst_k8s_${d}`),
  SERVICE_PORT,
  'protocol',
  'action',
  'direction',
];

export const METRICS = ['flows', 'packets', 'bytes'] as const;
export type Metric = (typeof METRICS)[number];

export interface RollupSpec {
  /** table name suffix and API name */
  readonly name: '1m' | '5m' | '1h';
  readonly seconds: number;
}

/** Finest first. */
export const ROLLUPS: readonly RollupSpec[] = [
  { name: '1m', seconds: 60 },
  { name: '5m', seconds: 300 },
  { name: '1h', seconds: 3600 },
];

/** The rollup tables the store writes and reads (keyed by service port; DuckDB migration 4, ClickHouse migration 8). */
export const rollupTable = (r: RollupSpec): string => `rollup_${r.name}`;

/**
 * The rollups before that, keyed by `dst_port`: no longer written nor read by the store; kept
 * (retention still applies) so SQL users can read `dst_port` for ranges the raw table no longer has.
 */
export const legacyRollupTable = (r: RollupSpec): string => `flows_${r.name}`;

/** Days each table keeps by default; rollups outlive the raw rows they summarize. */
export const DEFAULT_RETENTION_DAYS: Readonly<Record<'flows' | '1m' | '5m' | '1h', number>> = {
  flows: 30,
  '1m': 14,
  '5m': 90,
  '1h': 400,
};

/**
 * Layout (b): each cloud's flows in a table of their own, `flows_<cloud>`, with the common, the
 * Kubernetes and that cloud's columns only; `flows` is a view over them (UNION ALL, NULL for the
 * other clouds' columns) with the wide table's column names, so the query API's and Grafana's SQL read
 * it unchanged. A batch is always one cloud's, and is written to that cloud's table. The wide table
 * of the stores before (DuckDB migration 5, ClickHouse migration 9) is kept as `flows_wide`, a branch
 * of the same view, and expires under the raw table's retention: no upgrade copies the raw rows.
 */
export const cloudFlowTable = (cloud: Cloud): string => `flows_${cloud}`;
/** The raw table of the stores before layout (b), renamed and read through the `flows` view. */
export const WIDE_FLOW_TABLE = 'flows_wide';
/** Every table that holds raw flows, in the `flows` view's order. */
export const RAW_FLOW_TABLES: readonly string[] = [...CLOUDS.map(cloudFlowTable), WIDE_FLOW_TABLE];
/**
 * ClickHouse migration 10 (servers without insert_deduplication_token, 18.16): the Null-engine table a
 * raw table is written through. Its views fill the raw table, `flows_landed` and each rollup, each
 * on its own, so a retried insert reaches every table that missed it (clickhouseFeedTables).
 */
export const feedTable = (raw: string): string => `${raw}_feed`;
