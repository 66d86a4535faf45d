import { ROLLUPS, rollupTable } from './schema.js';
import { TGW_FLOW_COLUMNS, V1_FLOW_COLUMNS, V2_ROLLUP_DIMS, type FrozenColumn } from './schema-frozen.js';

/**
 * DuckDB DDL. DuckDB has no partitions: rows land in arrival order, which follows the flows' time
 * closely (objects are collected in time order), so row-group zone maps on `ts` skip most row groups
 * of a time range; sorting each insert cost more than it saved. Retention is a DELETE on `ts`.
 */

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

const stored = (c: FrozenColumn): string =>
  c.kind === 's' || c.kind === 'lc' ? 'VARCHAR' : c.kind === 't' ? 'TIMESTAMP' : c.kind === 'i' ? 'BIGINT' : 'DOUBLE';

/** Statements of a later migration that adds flow fields (see schema-frozen.ts); a store that has them already is left as is. */
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
        (r) => `CREATE TABLE IF NOT EXISTS ${rollupTable(r)} (
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
  ];
}

