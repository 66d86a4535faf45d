import { ROLLUP_DIMS, ROLLUPS, rollupTable, STORED_FIELDS, type StoredField } from './schema.js';

/**
 * DuckDB DDL. DuckDB has no partitions: rows land in arrival order, which follows the flows' time
 * closely (objects are collected in time order), so row-group zone maps on `ts` skip most row groups
 * of a time range; sorting each insert cost more than it saved. Retention is a DELETE on `ts`.
 */

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

const stored = (f: StoredField): string =>
  f.spec.kind === 'string' ? 'VARCHAR' : f.spec.kind === 'time' ? 'TIMESTAMP' : f.integer ? 'BIGINT' : 'DOUBLE';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

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
          ${STORED_FIELDS.map((f) => `${q(f.spec.name)} ${stored(f)}`).join(',\n          ')},
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
          ${ROLLUP_DIMS.map((d) => `${q(d)} ${d === 'dst_port' || d === 'protocol' ? 'BIGINT' : 'VARCHAR'}`).join(',\n          ')},
          flows BIGINT NOT NULL,
          packets BIGINT,
          bytes BIGINT
        )`,
      ),
    },
  ];
}

