import { servicePortSql } from './query-sql.js';
import { cloudFlowTable, legacyRollupTable, ROLLUPS, rollupTable, SERVICE_PORT, WIDE_FLOW_TABLE, type RollupSpec } from './schema.js';
import { TGW_FLOW_COLUMNS, V1_FLOW_COLUMNS, V2_ROLLUP_DIMS, V4_ROLLUP_DIMS, V5_CLOUDS, v5CloudColumns, type FrozenColumn } from './schema-frozen.js';

/**
 * DuckDB DDL. DuckDB has no partitions: rows land in arrival order, which follows the flows' time
 * closely (objects are collected in time order), so row-group zone maps on `ts` skip most row groups
 * of a time range; sorting each insert cost more than it saved. Retention is a DELETE on `ts`.
 */

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

const stored = (c: FrozenColumn): string =>
  c.kind === 's' || c.kind === 'lc' ? 'VARCHAR' : c.kind === 't' ? 'TIMESTAMP' : c.kind === 'i' ? 'BIGINT' : 'DOUBLE';

/**
 * Statements of a migration that adds flow fields to the wide table (migration 3; see schema-frozen.ts);
 * a store that has them already is left as is. From migration 5 on, `flows` is a view: a field is
 * added to its clouds' tables and `flows_wide`, and the view recreated (DROP VIEW, duckdbFlowsView).
 */
export function duckdbAddFlowColumns(columns: readonly FrozenColumn[]): string[] {
  return columns.map((c) => `ALTER TABLE flows ADD COLUMN IF NOT EXISTS ${q(c.name)} ${stored(c)}`);
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/**
 * Append-only: a schema change is a new numbered migration (add column, new table, backfill), never
 * an edit of an earlier one, which stores created before would never run again.
 * schema-migrations.test.ts pins a hash of each migration's SQL.
 */
export function duckdbMigrations(): Migration[] {
  return [
    {
      version: 1,
      name: 'flows and batch ledger',
      statements: [
        `CREATE TABLE IF NOT EXISTS flows (
          tenant VARCHAR NOT NULL,
          batch_id VARCHAR NOT NULL,
          row_no INTEGER NOT NULL,
          ts TIMESTAMP NOT NULL,
          ${V1_FLOW_COLUMNS.map((c) => `${q(c.name)} ${stored(c)}`).join(',\n          ')},
          extra VARCHAR
        )`,
        // The dedupe ledger: its primary key is what makes a second write of a batch a no-op.
        `CREATE TABLE IF NOT EXISTS batches (
          batch_id VARCHAR PRIMARY KEY,
          tenant VARCHAR NOT NULL,
          records INTEGER NOT NULL,
          written_at TIMESTAMP NOT NULL,
          min_ts TIMESTAMP,
          max_ts TIMESTAMP
        )`,
      ],
    },
    {
      version: 2,
      name: 'rollups 1m 5m 1h',
      statements: ROLLUPS.map(
        (r) => `CREATE TABLE IF NOT EXISTS ${legacyRollupTable(r)} (
          tenant VARCHAR NOT NULL,
          bucket TIMESTAMP NOT NULL,
          ${V2_ROLLUP_DIMS.map((d) => `${q(d)} ${d === 'dst_port' || d === 'protocol' ? 'BIGINT' : 'VARCHAR'}`).join(',\n          ')},
          flows BIGINT NOT NULL,
          packets BIGINT,
          bytes BIGINT
        )`,
      ),
    },
    { version: 3, name: 'Transit Gateway flow-log fields', statements: duckdbAddFlowColumns(TGW_FLOW_COLUMNS) },
    { version: 4, name: 'rollups keyed by service port', statements: duckdbServiceRollups() },
    { version: 5, name: 'a flow table per cloud behind the view flows', statements: duckdbCloudTables() },
  ];
}

/** The row's own columns of every raw table, before its flow columns; `extra` comes after them. */
const ROW_COLUMNS: readonly { name: string; type: string }[] = [
  { name: 'tenant', type: 'VARCHAR' },
  { name: 'batch_id', type: 'VARCHAR' },
  { name: 'row_no', type: 'INTEGER' },
  { name: 'ts', type: 'TIMESTAMP' },
];

/**
 * The view `flows` over the raw tables: `columns` (name and type, in the view's order) from each
 * table, a column a table lacks as a NULL of the column's type, so `SELECT * FROM flows` keeps the
 * names, types and order the wide table had. A later migration that adds a field alters its
 * tables and recreates the view with this function and its own frozen column list.
 */
export function duckdbFlowsView(columns: readonly { name: string; type: string }[], tables: readonly { name: string; has: ReadonlySet<string> }[]): string {
  const branch = (t: { name: string; has: ReadonlySet<string> }): string =>
    `SELECT ${columns.map((c) => (t.has.has(c.name) ? q(c.name) : `CAST(NULL AS ${c.type}) AS ${q(c.name)}`)).join(', ')} FROM ${q(t.name)}`;
  return `CREATE VIEW flows AS\n          ${tables.map(branch).join('\n          UNION ALL ')}`;
}

/**
 * Migration 5, layout (b) (schema.ts cloudFlowTable): the wide table is renamed `flows_wide` (no
 * copy of its rows, so a large store upgrades in a moment; it stays a branch of the view and expires
 * with the raw rows), each cloud gets `flows_<cloud>` with the row's columns, its frozen columns
 * (schema-frozen.ts v5CloudColumns, in the wide table's order) and `extra`, and `flows` becomes a
 * view over all four with the wide table's columns in the wide table's order (migration 1's, then
 * `extra`, then migration 3's Transit Gateway columns, which ALTER TABLE added after `extra`).
 */
export function duckdbCloudTables(): string[] {
  const wide = [...ROW_COLUMNS, ...V1_FLOW_COLUMNS.map((c) => ({ name: c.name, type: stored(c) })), { name: 'extra', type: 'VARCHAR' }, ...TGW_FLOW_COLUMNS.map((c) => ({ name: c.name, type: stored(c) }))];
  const clouds = V5_CLOUDS.map((cloud) => ({ cloud, columns: v5CloudColumns(cloud) }));
  return [
    `ALTER TABLE flows RENAME TO ${WIDE_FLOW_TABLE}`,
    ...clouds.map(
      ({ cloud, columns }) => `CREATE TABLE IF NOT EXISTS ${cloudFlowTable(cloud)} (
          tenant VARCHAR NOT NULL,
          batch_id VARCHAR NOT NULL,
          row_no INTEGER NOT NULL,
          ts TIMESTAMP NOT NULL,
          ${columns.map((c) => `${q(c.name)} ${stored(c)}`).join(',\n          ')},
          extra VARCHAR
        )`,
    ),
    duckdbFlowsView(wide, [
      ...clouds.map(({ cloud, columns }) => ({ name: cloudFlowTable(cloud), has: new Set([...ROW_COLUMNS.map((c) => c.name), ...columns.map((c) => c.name), 'extra']) })),
      { name: WIDE_FLOW_TABLE, has: new Set(wide.map((c) => c.name)) },
    ]),
  ];
}

/**
 * Migration 4: the rollups keyed by service port (schema.ts SERVICE_PORT) in new tables `rollup_1m`,
 * `rollup_5m`, `rollup_1h`, filled from what the store holds; the writer writes only these from now
 * on, and the `dst_port`-keyed `flows_1m/5m/1h` are kept as they are (retention still applies). The
 * fill is ClickHouse migration 8's (clickhouse-schema.ts `clickhouseServiceRollups` says why), in the
 * migration's transaction: per tenant and bucket, from the raw rows with the service port where the
 * raw table still holds every flow the old rollup counted there, else copied from the old rollup with
 * the service port absent (null; raw retention deleted rows there, and the old rows kept no source port).
 */
export function duckdbServiceRollups(): string[] {
  const numeric = (d: string): boolean => d === SERVICE_PORT || d === 'protocol';
  const bucketOf = (col: string, r: RollupSpec): string => `time_bucket(INTERVAL '${r.seconds} seconds', ${col})`;
  const legacyPairs = (r: RollupSpec): string => `(SELECT l.tenant, l.bucket FROM (SELECT tenant, bucket, sum(flows) AS old_flows FROM ${legacyRollupTable(r)} GROUP BY ALL) l
            LEFT JOIN (SELECT tenant, ${bucketOf('ts', r)} AS bucket, count(*) AS raw_flows FROM flows GROUP BY ALL) f ON f.tenant = l.tenant AND f.bucket = l.bucket
            WHERE l.old_flows > coalesce(f.raw_flows, 0))`;
  const cols = `tenant, bucket, ${V4_ROLLUP_DIMS.map(q).join(', ')}, flows, packets, bytes`;
  return [
    ...ROLLUPS.map(
      (r) => `CREATE TABLE IF NOT EXISTS ${rollupTable(r)} (
          tenant VARCHAR NOT NULL,
          bucket TIMESTAMP NOT NULL,
          ${V4_ROLLUP_DIMS.map((d) => `${q(d)} ${numeric(d) ? 'BIGINT' : 'VARCHAR'}`).join(',\n          ')},
          flows BIGINT NOT NULL,
          packets BIGINT,
          bytes BIGINT
        )`,
    ),
    ...ROLLUPS.flatMap((r) => {
      const keys = V4_ROLLUP_DIMS.map((d) => (d === SERVICE_PORT ? `CAST(NULL AS BIGINT) AS ${q(d)}` : `l.${q(d)}`));
      const rawKeys = V4_ROLLUP_DIMS.map((d) => (d === SERVICE_PORT ? `${servicePortSql('duckdb', (f) => `r.${q(f)}`)} AS ${q(d)}` : `r.${q(d)}`));
      // the migration is one transaction, so its fill runs whole or not at all
      return [
        `INSERT INTO ${rollupTable(r)} (${cols})
          SELECT l.tenant, l.bucket, ${keys.join(', ')}, sum(l.flows), sum(l.packets), sum(l.bytes)
          FROM ${legacyRollupTable(r)} l SEMI JOIN ${legacyPairs(r)} p ON p.tenant = l.tenant AND p.bucket = l.bucket
          GROUP BY ALL
          UNION ALL
          SELECT r.tenant, ${bucketOf('r.ts', r)} AS bucket, ${rawKeys.join(', ')}, count(*), sum(r.packets), sum(r.bytes)
          FROM flows r ANTI JOIN ${legacyPairs(r)} p ON p.tenant = r.tenant AND p.bucket = ${bucketOf('r.ts', r)}
          GROUP BY ALL`,
      ];
    }),
  ];
}

