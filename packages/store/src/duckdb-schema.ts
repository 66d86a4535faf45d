import { ROLLUP_DIMS, ROLLUPS, rollupTable, STORED_FIELDS, type StoredField } from './schema.js';

/**
 * DuckDB DDL. DuckDB has no partitions: each batch is inserted sorted by time, so row-group
 * zone maps skip whole row groups on time ranges, and retention is a DELETE on the time column.
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

/**
 * Per-connection staging: the appender fills `staging` with the batch as it is held in memory
 * (doubles, epoch ms), and `staged` converts to the stored types, so the conversion runs
 * vectorized inside DuckDB instead of per value in JavaScript.
 */
export const STAGING_DDL: readonly string[] = [
  `CREATE TEMP TABLE IF NOT EXISTS staging (
    row_no INTEGER,
    ts_ms DOUBLE,
    ${STORED_FIELDS.map((f) => `${q(f.spec.name)} ${f.spec.kind === 'string' ? 'VARCHAR' : 'DOUBLE'}`).join(',\n    ')},
    extra VARCHAR
  )`,
  `CREATE OR REPLACE TEMP VIEW staged AS SELECT
    row_no,
    make_timestamp(CAST(round(ts_ms * 1000) AS BIGINT)) AS ts,
    ${STORED_FIELDS.map((f) =>
      f.spec.kind === 'string'
        ? q(f.spec.name)
        : f.spec.kind === 'time'
          ? `make_timestamp(CAST(round(${q(f.spec.name)} * 1000) AS BIGINT)) AS ${q(f.spec.name)}`
          : f.integer
            ? `CAST(${q(f.spec.name)} AS BIGINT) AS ${q(f.spec.name)}`
            : q(f.spec.name),
    ).join(',\n    ')},
    extra
  FROM temp.staging`,
];
