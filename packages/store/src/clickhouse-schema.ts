import { quoteIdent, quoteString } from './clickhouse-sql.js';
import { servicePortSql } from './query-sql.js';
import { cloudFlowTable, DEFAULT_RETENTION_DAYS, feedTable, legacyRollupTable, RAW_FLOW_TABLES, ROLLUPS, rollupTable, SERVICE_PORT, WIDE_FLOW_TABLE, type RollupSpec } from './schema.js';
import { TGW_FLOW_COLUMNS, V1_FLOW_COLUMNS, V2_ROLLUP_DIMS, V4_ROLLUP_DIMS, V5_CLOUDS, v5CloudColumns, type FrozenColumn } from './schema-frozen.js';

/**
 * ClickHouse DDL, chosen by the server's version so the same migrations are right on the
 * Debian 18.16 test server and on a current ClickHouse. The README's table lists what each gets.
 */
export interface ClickHouseFeatures {
  readonly version: string;
  /** LowCardinality(String): 18.16 only behind allow_experimental_low_cardinality_type (19.x+ by default) */
  readonly lowCardinality: boolean;
  /** DateTime64 (20.1+): sub-second times as a time type; else Int64 microseconds */
  readonly dateTime64: boolean;
  /** column and table TTL (19.6+) */
  readonly ttl: boolean;
  /** CODEC(...) (19.11+ usable; 20.x+ here) */
  readonly codecs: boolean;
  /** data-skipping indexes without the experimental flag (20.1+) */
  readonly skipIndexes: boolean;
  /** insert_deduplication_token with non_replicated_deduplication_window on a plain MergeTree (22.2+) */
  readonly dedupToken: boolean;
  /**
   * A view of a view's TO table runs for the rows that view writes (cascading views). Checked: not
   * on 18.16 (a view must select FROM the other view's name there), yes on 26.9 (chDB, where a view
   * FROM a view's name gets nothing); versions between are taken as current from 20.1.
   */
  readonly cascadeViaTarget: boolean;
  /**
   * The query must ask for `enable_optimize_predicate_expression = 1` to have a WHERE pushed into
   * the branches of the `flows` view (UNION ALL, migration 9): 18.16 has it off by default and then
   * reads every branch whole (checked: 524,288 rows read for a filter that needs 20,000). Current
   * servers push it by themselves (chDB 26.9: EXPLAIN indexes = 1 prunes every branch).
   */
  readonly viewPredicateSetting: boolean;
}

export function parseVersion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(v.trim());
  if (!m) throw new Error(`cannot read ClickHouse version from ${JSON.stringify(v)}`);
  return [Number(m[1]), Number(m[2])];
}

export function featuresFor(version: string, lowCardinalityEnabled: boolean): ClickHouseFeatures {
  const [maj, min] = parseVersion(version);
  const atLeast = (a: number, b: number): boolean => maj > a || (maj === a && min >= b);
  return {
    version,
    lowCardinality: atLeast(19, 0) || (atLeast(18, 12) && lowCardinalityEnabled),
    dateTime64: atLeast(20, 1),
    ttl: atLeast(19, 6),
    codecs: atLeast(20, 1),
    skipIndexes: atLeast(20, 1),
    dedupToken: atLeast(22, 2),
    cascadeViaTarget: atLeast(20, 1),
    viewPredicateSetting: !atLeast(20, 1),
  };
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

function columnType(c: FrozenColumn, ft: ClickHouseFeatures): string {
  if (c.kind === 't') return ft.dateTime64 ? "Nullable(DateTime64(6, 'UTC'))" : 'Nullable(Int64)';
  if (c.kind === 'i') return 'Nullable(Int64)';
  if (c.kind === 'f') return 'Nullable(Float64)';
  return c.kind === 'lc' && ft.lowCardinality ? 'LowCardinality(Nullable(String))' : 'Nullable(String)';
}

/**
 * Statements of a later migration that adds flow fields (see schema-frozen.ts). The columns land
 * after `extra`: a writer must name its columns rather than rely on the table's order.
 * Only for migrations before 9: since migration 9 `flows` is a view, and a field is added to its
 * clouds' tables and `flows_wide`, and the view is dropped and made again with it (18.16 has no
 * CREATE OR REPLACE VIEW); schema-migrations.test.ts checks the tables and the last view.
 */
export function clickhouseAddFlowColumns(db: string, ft: ClickHouseFeatures, columns: readonly FrozenColumn[]): string[] {
  const table = `${quoteIdent(db)}.${quoteIdent('flows')}`;
  // 18.16 has no ADD COLUMN IF NOT EXISTS: there one ALTER adds them all, so it adds all or none
  if (!ft.ttl) return [`ALTER TABLE ${table} ${columns.map((c) => `ADD COLUMN ${quoteIdent(c.name)} ${columnType(c, ft)}`).join(', ')}`];
  return columns.map((c) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${columnType(c, ft)}`);
}

/**
 * Rollup key columns are named `k_<field>`: the view computes them from the field of the same
 * name, and on 18.16 an alias equal to a column name is a cyclic alias (a subquery in the view
 * does not work there either).
 */
export const rollupKey = (field: string): string => quoteIdent(`k_${field}`);

/** Rollup keys cannot be Nullable on 18.16 (sorting key): absent is '' for names and -1 for numbers. */
export const ROLLUP_NUMERIC: ReadonlySet<string> = new Set(['dst_port', SERVICE_PORT, 'protocol']);

/** A service-port rollup key (V4_ROLLUP_DIMS) computed from a raw row: absent is -1 for numbers and '' for names. */
function rawRollupKey(x: string): string {
  if (x === SERVICE_PORT) return `toInt32(ifNull(${servicePortSql('clickhouse', quoteIdent)}, -1))`;
  return ROLLUP_NUMERIC.has(x) ? `toInt32(ifNull(${quoteIdent(x)}, -1))` : `ifNull(${quoteIdent(x)}, '')`;
}

/** The start of the `secs`-second bucket of a time column, as the rollups key it. */
const rollupBucket = (col: string, secs: number): string => `toDateTime(intDiv(toUInt32(${col}), ${secs}) * ${secs}, 'UTC')`;

/**
 * The SELECT list of a service-port rollup grouped from raw rows (`GROUP BY tenant, bucket, <keys>`):
 * the tenant, the bucket, each key and the sums, laid out as every migration that has it wrote it
 * (their SQL is pinned, schema-migrations.test.ts).
 */
function rollupOfRows(secs: number): string {
  return `tenant, ${rollupBucket('ts', secs)} AS bucket, ${V4_ROLLUP_DIMS.map((x) => `${rawRollupKey(x)} AS ${quoteIdent(`k_${x}`)}`).join(', ')},
            count() AS flows, sum(ifNull(packets, 0)) AS packets, sum(ifNull(bytes, 0)) AS bytes`;
}

/** The pieces every migration's DDL is written with, for one database on one server's features. */
function ddl(db: string, ft: ClickHouseFeatures) {
  const d = quoteIdent(db);
  return {
    d,
    id: (n: string): string => `${d}.${quoteIdent(n)}`,
    lc: (t: string): string => (ft.lowCardinality ? `LowCardinality(${t})` : t),
    ttl: (col: string, days: number): string => (ft.ttl ? `TTL ${col} + INTERVAL ${Math.ceil(days)} DAY` : ''),
    dedupWindow: ft.dedupToken ? 'SETTINGS non_replicated_deduplication_window = 10000' : '',
  };
}

/**
 * Append-only: a schema change is a new numbered migration (add column, new table, backfill), never
 * an edit of an earlier one, which databases created before would never run again.
 * schema-migrations.test.ts pins a hash of each migration's SQL. `retentionDays` only sets the TTL
 * of tables created on servers that have TTL (the default config's days keep the pinned SQL).
 */
export function clickhouseMigrations(
  db: string,
  ft: ClickHouseFeatures,
  retentionDays = DEFAULT_RETENTION_DAYS,
  /** migration 9: the types of the store's wide `flows` table as the server reports them (see clickhouseCloudTables) */
  wideTypes?: ReadonlyMap<string, string>,
): Migration[] {
  const { d, id, lc, ttl, dedupWindow } = ddl(db, ft);
  const tsCodec = ft.codecs ? ' CODEC(DoubleDelta, ZSTD(1))' : '';
  return [
    {
      version: 1,
      name: 'flows and batch ledger',
      statements: [
        // ReplacingMergeTree keyed down to (batch_id, row_no): two racing writers of one batch leave
        // duplicates that merges (and FINAL) collapse, so the raw table is exact whatever happens.
        `CREATE TABLE IF NOT EXISTS ${id('flows')} (
          tenant ${lc('String')},
          batch_id String,
          row_no UInt32,
          ts DateTime('UTC')${tsCodec},
          ${V1_FLOW_COLUMNS.map((c) => `${quoteIdent(c.name)} ${columnType(c, ft)}`).join(',\n          ')},
          extra Nullable(String)${ft.skipIndexes ? ',\n          INDEX batch_idx batch_id TYPE bloom_filter GRANULARITY 4' : ''}
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMMDD(ts)
        ORDER BY (tenant, toStartOfHour(ts), ifNull(dst_k8s_namespace, ''), ifNull(dst_k8s_workload, ''), ts, batch_id, row_no)
        ${ttl('ts', retentionDays.flows)}
        ${dedupWindow}`,
        `CREATE TABLE IF NOT EXISTS ${id('batches')} (
          batch_id String,
          tenant String,
          records UInt32,
          written_at DateTime('UTC'),
          min_ts DateTime('UTC'),
          max_ts DateTime('UTC')
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(max_ts)
        ORDER BY batch_id`,
      ],
    },
    {
      version: 2,
      name: 'rollups 1m 5m 1h',
      statements: ROLLUPS.flatMap((r) => {
        const dimCols = V2_ROLLUP_DIMS.map((x) => `${rollupKey(x)} ${ROLLUP_NUMERIC.has(x) ? 'Int32' : lc('String')}`);
        const dimExpr = V2_ROLLUP_DIMS.map((x) => `${ROLLUP_NUMERIC.has(x) ? `toInt32(ifNull(${quoteIdent(x)}, -1))` : `ifNull(${quoteIdent(x)}, '')`} AS ${quoteIdent(`k_${x}`)}`);
        const keys = V2_ROLLUP_DIMS.map(rollupKey).join(', ');
        return [
          `CREATE TABLE IF NOT EXISTS ${id(legacyRollupTable(r))} (
            tenant ${lc('String')},
            bucket DateTime('UTC'),
            ${dimCols.join(',\n            ')},
            flows UInt64,
            packets Int64,
            bytes Int64
          ) ENGINE = SummingMergeTree((flows, packets, bytes))
          PARTITION BY toYYYYMM(bucket)
          ORDER BY (tenant, bucket, ${keys})
          ${ttl('bucket', retentionDays[r.name])}`,
          `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${legacyRollupTable(r)}_mv`)} TO ${id(legacyRollupTable(r))} AS
          SELECT tenant, toDateTime(intDiv(toUInt32(ts), ${r.seconds}) * ${r.seconds}, 'UTC') AS bucket, ${dimExpr.join(', ')},
            count() AS flows, sum(ifNull(packets, 0)) AS packets, sum(ifNull(bytes, 0)) AS bytes
          FROM ${id('flows')}
          GROUP BY tenant, bucket, ${keys}`,
        ];
      }),
    },
    {
      version: 3,
      name: 'landed rows per batch',
      statements: [
        // Rows of each batch the raw table received, kept by the server as it inserts (a view of
        // flows): a batch whose rows landed but whose ledger entry did not (writer killed in
        // between) is found by a key lookup here, not by reading its hour of the raw table.
        `CREATE TABLE IF NOT EXISTS ${id('flows_landed')} (
          batch_id String,
          ts DateTime('UTC'),
          rows UInt64
        ) ENGINE = SummingMergeTree((rows))
        PARTITION BY toYYYYMMDD(ts)
        ORDER BY batch_id
        ${ttl('ts', Math.max(retentionDays.flows, retentionDays['1h']))}`,
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id('flows_landed_mv')} TO ${id('flows_landed')} AS
        SELECT batch_id, max(ts) AS ts, count() AS rows FROM ${id('flows')} GROUP BY batch_id`,
        // rows written before this migration; a run interrupted after it finds them there and adds none
        `INSERT INTO ${id('flows_landed')} SELECT batch_id, max(ts) AS ts, count() AS rows FROM ${id('flows')}
        WHERE batch_id NOT IN (SELECT batch_id FROM ${id('flows_landed')}) GROUP BY batch_id`,
      ],
    },
    {
      version: 4,
      name: 'dedup window on the tables the views feed',
      // insert_deduplication_token drops a repeated insert only in tables that keep a dedup log: with
      // the window on `flows` alone, a current server (checked on 26.9) still ran the views for the
      // repeat, so a batch two writers raced on was counted twice in every rollup. The views' inserts
      // carry tokens derived from the batch's (deduplicate_blocks_in_dependent_materialized_views).
      // Nothing on servers without the token (18.16: no such setting).
      statements: ft.dedupToken
        ? [...ROLLUPS.map(legacyRollupTable), 'flows_landed'].map((t) => `ALTER TABLE ${id(t)} MODIFY SETTING non_replicated_deduplication_window = 10000`)
        : [],
    },
    { version: 5, name: 'Transit Gateway flow-log fields', statements: clickhouseAddFlowColumns(db, ft, TGW_FLOW_COLUMNS) },
    { version: 6, name: 'rollups 5m and 1h from the 1m rows', statements: clickhouseRollupCascade(db, ft) },
    { version: 7, name: 'batches repaired after a race', statements: clickhouseRepairLedger(db) },
    { version: 8, name: 'rollups keyed by service port', statements: clickhouseServiceRollups(db, ft, retentionDays) },
    { version: 9, name: 'a flow table per cloud behind the view flows', statements: clickhouseCloudTables(db, ft, retentionDays, wideTypes) },
    { version: 10, name: 'raw tables written through feed tables whose views dedupe per table', statements: clickhouseFeedTables(db, ft) },
  ];
}

/**
 * The 5m and 1h views read the 1m view's output instead of the raw rows: each insert block is
 * grouped once at full width (into 1m keys) and the coarser rollups group that much smaller block.
 * Measured on 18.16 (server CPU per 393k enriched flows, log_profile_events): the two views over
 * the raw rows took ~1.6 s of ~5.8 s. Sums of sums are exact, and 1m buckets nest in 5m and 1h ones.
 *
 * 18.16 does not run a view of a view's TO table for the rows that view writes (checked: the 5m
 * table stayed empty), but it does run views that select FROM the view itself; current servers run
 * views of the TO table (cascading views), so the source follows the server.
 *
 * The old view goes first, then the new one is made: an insert in between (the migration runs
 * before the enricher consumes; another writer running an older release could hit it) would miss
 * its 5m/1h rows. Making the new view first would count such an insert twice instead.
 */
export function clickhouseRollupCascade(db: string, ft: ClickHouseFeatures): string[] {
  const { id } = ddl(db, ft);
  const [m1, ...coarser] = ROLLUPS;
  if (!m1 || m1.name !== '1m') throw new Error('rollup cascade: the first rollup must be 1m');
  const from = ft.cascadeViaTarget ? id(legacyRollupTable(m1)) : id(`${legacyRollupTable(m1)}_mv`);
  const keys = V2_ROLLUP_DIMS.map(rollupKey).join(', ');
  return coarser.flatMap((r) => [
    `DROP TABLE IF EXISTS ${id(`${legacyRollupTable(r)}_mv`)}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${legacyRollupTable(r)}_from_1m_mv`)} TO ${id(legacyRollupTable(r))} AS
          SELECT tenant, toDateTime(intDiv(toUInt32(bucket), ${r.seconds}) * ${r.seconds}, 'UTC') AS bucket, ${keys},
            sum(flows) AS flows, sum(packets) AS packets, sum(bytes) AS bytes
          FROM ${from}
          GROUP BY tenant, bucket, ${keys}`,
  ]);
}

/**
 * Raw reads without FINAL (see ClickHouseStore.repair): a batch two writers raced on is found by
 * its landed rows exceeding its records, its day partitions are merged with OPTIMIZE ... FINAL
 * (the ReplacingMergeTree key collapses the copies), and the landed count at which the raw table
 * was checked to hold it once is kept here, so it is not repaired again.
 */
export function clickhouseRepairLedger(db: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(db)}.${quoteIdent('flows_repaired')} (
          batch_id String,
          at_landed UInt64,
          repaired_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(repaired_at)
        ORDER BY batch_id`,
  ];
}

/**
 * Migration 8: the rollups keyed by service port (schema.ts SERVICE_PORT) in new tables `rollup_1m`,
 * `rollup_5m`, `rollup_1h`, filled from what the store holds, then fed by their own views; the
 * `dst_port`-keyed `flows_1m/5m/1h` stop being written (their views are dropped) and are kept.
 *
 * The fill, per tenant and bucket, so every answer that does not name a port stays what it was:
 *  - a bucket where the raw table still holds every flow the old rollup counted (or more: the old
 *    rollup's own retention may have dropped it) is grouped from the raw rows, with its service port;
 *  - a bucket where the old rollup counted more (raw retention deleted rows there: rollups outlive
 *    the raw rows) is copied from the old rollup, with the service port absent (-1): the old rows
 *    kept no source port. Such buckets are older than everything the raw table holds, bar the one
 *    bucket retention cut through.
 * The raw part leaves out the (tenant, bucket) pairs the old-rollup part took. A table is filled
 * only while it is empty, so a migration run again after a crash before it was recorded adds nothing
 * (a fill interrupted in the middle of its statement is not redone: empty that table by hand first).
 * Two processes migrating one database at the same moment can both fill: migrate from one.
 * `GLOBAL` makes each subquery run once over the whole cluster in cluster mode (clusterStatements
 * then reads every table through its Distributed table); on one server it is a plain IN / JOIN.
 *
 * The views come after the fill, and the old views go last: an insert by another writer between
 * the fill of a table and its view (the enricher migrates before it consumes) would miss that
 * rollup, as in migration 6; one after the new views is counted once in each.
 */
export function clickhouseServiceRollups(db: string, ft: ClickHouseFeatures, retentionDays = DEFAULT_RETENTION_DAYS): string[] {
  const { d, id, lc, ttl, dedupWindow } = ddl(db, ft);
  const keys = V4_ROLLUP_DIMS.map(rollupKey).join(', ');
  const numeric = (x: string): boolean => x === SERVICE_PORT || ROLLUP_NUMERIC.has(x);
  const legacyKey = (x: string): string => (x === SERVICE_PORT ? 'toInt32(-1)' : rollupKey(x));
  /** the (tenant, bucket) pairs taken from the old rollup: where it counted more flows than the raw table still holds */
  const fromLegacy = (r: RollupSpec): string =>
    `SELECT tenant, bucket FROM (SELECT tenant, bucket, sum(flows) AS old_flows FROM ${id(legacyRollupTable(r))} GROUP BY tenant, bucket) AS o
            GLOBAL ANY LEFT JOIN (SELECT tenant, ${rollupBucket('ts', r.seconds)} AS bucket, count() AS raw_flows FROM ${id('flows')} GROUP BY tenant, bucket) AS f USING (tenant, bucket)
            WHERE old_flows > raw_flows`;
  const out: string[] = [];
  for (const r of ROLLUPS) {
    out.push(
      `CREATE TABLE IF NOT EXISTS ${id(rollupTable(r))} (
            tenant ${lc('String')},
            bucket DateTime('UTC'),
            ${V4_ROLLUP_DIMS.map((x) => `${rollupKey(x)} ${numeric(x) ? 'Int32' : lc('String')}`).join(',\n            ')},
            flows UInt64,
            packets Int64,
            bytes Int64
          ) ENGINE = SummingMergeTree((flows, packets, bytes))
          PARTITION BY toYYYYMM(bucket)
          ORDER BY (tenant, bucket, ${keys})
          ${ttl('bucket', retentionDays[r.name])}
          ${dedupWindow}`,
    );
  }
  for (const r of ROLLUPS) {
    // one statement per table, run only while the table is empty: a migration that ran but was not
    // recorded (a crash before its schema_migrations row) fills nothing a second time
    const empty = `(SELECT count() FROM ${id(rollupTable(r))}) = 0`;
    out.push(
      `INSERT INTO ${id(rollupTable(r))} (tenant, bucket, ${keys}, flows, packets, bytes)
          SELECT tenant, bucket, ${V4_ROLLUP_DIMS.map(legacyKey).join(', ')}, flows, packets, bytes FROM ${id(legacyRollupTable(r))}
          WHERE (tenant, bucket) GLOBAL IN (${fromLegacy(r)}) AND ${empty}
          UNION ALL
          SELECT ${rollupOfRows(r.seconds)}
          FROM ${id('flows')}
          WHERE (tenant, ${rollupBucket('ts', r.seconds)}) GLOBAL NOT IN (${fromLegacy(r)}) AND ${empty}
          GROUP BY tenant, bucket, ${keys}`,
    );
  }
  const [m1, ...coarser] = ROLLUPS;
  if (!m1 || m1.name !== '1m') throw new Error('service rollups: the first rollup must be 1m');
  out.push(
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${rollupTable(m1)}_mv`)} TO ${id(rollupTable(m1))} AS
          SELECT ${rollupOfRows(m1.seconds)}
          FROM ${id('flows')}
          GROUP BY tenant, bucket, ${keys}`,
    ...serviceRollupCascade(db, ft),
    ...[m1, ...coarser].map((r) => `DROP TABLE IF EXISTS ${id(r === m1 ? `${legacyRollupTable(r)}_mv` : `${legacyRollupTable(r)}_from_1m_mv`)}`),
  );
  return out;
}

/** The 5m and 1h views of migration 8, from the 1m rows as in migration 6 (its comment says why, and why the source follows the server). */
export function serviceRollupCascade(db: string, ft: ClickHouseFeatures): string[] {
  const { id } = ddl(db, ft);
  const [m1, ...coarser] = ROLLUPS;
  const from = ft.cascadeViaTarget ? id(rollupTable(m1!)) : id(`${rollupTable(m1!)}_mv`);
  const keys = V4_ROLLUP_DIMS.map(rollupKey).join(', ');
  return coarser.map(
    (r) => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${rollupTable(r)}_from_1m_mv`)} TO ${id(rollupTable(r))} AS
          SELECT tenant, toDateTime(intDiv(toUInt32(bucket), ${r.seconds}) * ${r.seconds}, 'UTC') AS bucket, ${keys},
            sum(flows) AS flows, sum(packets) AS packets, sum(bytes) AS bytes
          FROM ${from}
          GROUP BY tenant, bucket, ${keys}`,
  );
}

/** The wide table's flow columns in its order: migration 1's, `extra`, then those added after it (migration 5). */
const WIDE_COLUMNS: readonly (FrozenColumn | 'extra')[] = [...V1_FLOW_COLUMNS, 'extra', ...TGW_FLOW_COLUMNS];

/**
 * Migration 9, layout (b) (store README "Flow table layout"): a raw table per cloud behind one view.
 *
 *  1. The views that read `flows` go first (migration 8's `rollup_1m_mv`, migration 3's `flows_landed_mv`;
 *     on 18.16 also the 5m/1h views, which read `FROM rollup_1m_mv` there): 18.16 does not move a view's
 *     source on RENAME, so they would stop firing anyway. No other view reads `flows` after migration 8.
 *  2. `flows` is renamed `flows_wide` (no copy: a large store upgrades in seconds). Not idempotent (18.16
 *     has no RENAME IF EXISTS): ClickHouseStore.migrate goes on when `flows_wide` is already there.
 *  3. `flows_aws`, `flows_gcp`, `flows_azure`: the wide table's engine, partitions, sorting key, codec,
 *     skip index, TTL and dedup window, with the common, Kubernetes and that cloud's frozen columns.
 *  4. Per raw table (the three and `flows_wide`, RAW_FLOW_TABLES): its 1m rollup view and its landed-rows
 *     view into the same tables as before; on 18.16 also its 5m and 1h views FROM its own 1m view (a
 *     view of a view's TO table does not fire there); current servers keep migration 8's 5m and 1h views
 *     FROM `rollup_1m`, which every 1m view writes to. Nothing writes `flows_wide` in the store's normal
 *     course; its views keep the rollups exact for the rows a writer puts there (a row that fits no cloud
 *     table, see ClickHouseStore.insertRows).
 *  5. `flows` becomes a view: every column of the wide table in its order, from each raw table, a column
 *     a cloud table lacks as a typed NULL. Inserts into `flows` by an older writer now fail loudly.
 *
 * Types: a cloud table's columns take the wide table's own types (`wideTypes`, read by migrate() from the
 * server) so every branch of the view has the same types: a store made on 18.16 keeps Int64 microsecond
 * times after its server is upgraded in place, or a wide table without LowCardinality under a config
 * that now asks for it. Without `wideTypes` (a fresh store, and the pinned SQL) they are the types
 * migration 1 and 5 give on this server.
 */
export function clickhouseCloudTables(
  db: string,
  ft: ClickHouseFeatures,
  retentionDays = DEFAULT_RETENTION_DAYS,
  wideTypes?: ReadonlyMap<string, string>,
): string[] {
  const { id, lc, ttl, dedupWindow } = ddl(db, ft);
  const tsCodec = ft.codecs ? ' CODEC(DoubleDelta, ZSTD(1))' : '';
  const typeOf = (c: FrozenColumn): string => wideTypes?.get(c.name) ?? columnType(c, ft);
  const extraType = wideTypes?.get('extra') ?? 'Nullable(String)';
  const [m1, ...coarser] = ROLLUPS;
  if (!m1 || m1.name !== '1m') throw new Error('cloud tables: the first rollup must be 1m');
  const out: string[] = [
    `DROP TABLE IF EXISTS ${id(`${rollupTable(m1)}_mv`)}`,
    `DROP TABLE IF EXISTS ${id('flows_landed_mv')}`,
    ...(ft.cascadeViaTarget ? [] : coarser.map((r) => `DROP TABLE IF EXISTS ${id(`${rollupTable(r)}_from_1m_mv`)}`)),
    `RENAME TABLE ${id('flows')} TO ${id(WIDE_FLOW_TABLE)}`,
  ];
  const clouds = V5_CLOUDS;
  for (const cloud of clouds) {
    out.push(`CREATE TABLE IF NOT EXISTS ${id(cloudFlowTable(cloud))} (
          tenant ${wideTypes?.get('tenant') ?? lc('String')},
          batch_id String,
          row_no UInt32,
          ts DateTime('UTC')${tsCodec},
          ${v5CloudColumns(cloud).map((c) => `${quoteIdent(c.name)} ${typeOf(c)}`).join(',\n          ')},
          extra ${extraType}${ft.skipIndexes ? ',\n          INDEX batch_idx batch_id TYPE bloom_filter GRANULARITY 4' : ''}
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMMDD(ts)
        ORDER BY (tenant, toStartOfHour(ts), ifNull(dst_k8s_namespace, ''), ifNull(dst_k8s_workload, ''), ts, batch_id, row_no)
        ${ttl('ts', retentionDays.flows)}
        ${dedupWindow}`);
  }
  out.push(...RAW_FLOW_TABLES.flatMap((t) => rawTableViews(db, ft, t)));
  const branch = (t: string, has: (c: FrozenColumn) => boolean): string =>
    `SELECT tenant, batch_id, row_no, ts, ${WIDE_COLUMNS.map((c) =>
      c === 'extra' ? 'extra' : has(c) ? quoteIdent(c.name) : `CAST(NULL AS ${typeOf(c)}) AS ${quoteIdent(c.name)}`,
    ).join(', ')} FROM ${id(t)}`;
  out.push(
    `CREATE VIEW IF NOT EXISTS ${id('flows')} AS
          ${[
            ...clouds.map((cloud) => {
              const own = new Set(v5CloudColumns(cloud).map((c) => c.name));
              return branch(cloudFlowTable(cloud), (c) => own.has(c.name));
            }),
            branch(WIDE_FLOW_TABLE, () => true),
          ].join('\n          UNION ALL\n          ')}`,
  );
  return out;
}

/** Migration 9's views of one raw table: its 1m rollup, its landed rows and, where views do not cascade through TO tables (18.16), its 5m and 1h rollups. */
export function rawTableViews(db: string, ft: ClickHouseFeatures, table: string): string[] {
  const { id } = ddl(db, ft);
  const keys = V4_ROLLUP_DIMS.map(rollupKey).join(', ');
  const [m1, ...coarser] = ROLLUPS;
  const m1View = `${table}_${rollupTable(m1!)}_mv`;
  return [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(m1View)} TO ${id(rollupTable(m1!))} AS
          SELECT ${rollupOfRows(m1!.seconds)}
          FROM ${id(table)}
          GROUP BY tenant, bucket, ${keys}`,
    ...(ft.cascadeViaTarget
      ? []
      : coarser.map(
          (r) => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${table}_${rollupTable(r)}_mv`)} TO ${id(rollupTable(r))} AS
          SELECT tenant, ${rollupBucket('bucket', r.seconds)} AS bucket, ${keys},
            sum(flows) AS flows, sum(packets) AS packets, sum(bytes) AS bytes
          FROM ${id(m1View)}
          GROUP BY tenant, bucket, ${keys}`,
        )),
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${table}_landed_mv`)} TO ${id('flows_landed')} AS
        SELECT batch_id, max(ts) AS ts, count() AS rows FROM ${id(table)} GROUP BY batch_id`,
  ];
}

/** The column migration 10 adds to each rollup: which insert (batch and raw table) a row came from. */
export const INSERT_KEY = 'insert_key';

/**
 * Migration 10, on servers without insert_deduplication_token (18.16; nothing on the others): each raw
 * table is written through a Null-engine table, `<raw>_feed`, whose views fill the raw table,
 * `flows_landed` and each rollup, each directly from the inserted rows.
 *
 * Why: 18.16 commits an insert's tables one by one (the raw block, then each view's block) and runs no
 * view for a block a Replicated table drops as a repeat. A replica killed between two of those commits
 * (clickhouse-cluster.disruptive.test.ts, in CI) left the later tables without the batch, and the retry
 * could not add it: its raw block was dropped as a repeat, so no view ran. An insert into a Null table
 * is never a repeat, so every view runs on a retry, and each Replicated target drops its own repeated
 * block by hash (checked on 18.16: a view of a Null table writes with insert_deduplicate on, where a
 * view of a Replicated table writes with it off). So a retry adds exactly what each table missed.
 *
 *  - `insert_key` (rollups): cityHash64 of the batch and the raw table. Dedupe by hash would also drop a
 *    block of another batch that happens to be equal (checked on 18.16; two one-flow batches with the
 *    same keys and counts in one minute); the key makes each insert's block its own. A SummingMergeTree
 *    of the listed sums keeps any one value of it in a merged row: it means nothing after a merge.
 *    `flows_landed` has no such column: its rows carry the batch id already, and migration 3's fill
 *    (an INSERT without a column list) must still run again. Two parts of one split batch with the same
 *    row count and last time would count once there: the landed count then stays short, and a retry
 *    after a crash sends the batch again, which every table drops as a repeat.
 *  - The views run in the order of their names (checked on 18.16): the raw rows, the rollups, and the
 *    landed count last. A batch's full landed count then means every table has it: a writer that finds it
 *    (a crash between the insert and the ledger entry) writes only the ledger entry, even after the
 *    tables' dedup windows have moved on (clickhouse-store.ts). On a single 18.16 server, where nothing
 *    drops a repeat, a server killed in the middle of an insert leaves a retry that counts the tables it
 *    had reached twice (before this migration, with the landed count second, it left the rollups short).
 *    That server has no exactly-once across tables: current servers (the token) and clusters have.
 *  - The 5m and 1h rollups are computed from the rows, not from the 1m view's output: a view of a view
 *    would commit with the 1m block, and be skipped with it.
 *  - The raw tables' own views (migration 9) go last. From the first ALTER on, they fail an older writer's
 *    insert into a raw table (18.16 refuses a view that leaves a column of its target unfilled), and once
 *    dropped its rows reach no rollup: the older writers stop before the upgrade, as for migration 9.
 */
export function clickhouseFeedTables(db: string, ft: ClickHouseFeatures): string[] {
  if (ft.dedupToken) return [];
  const { id } = ddl(db, ft);
  const keys = V4_ROLLUP_DIMS.map(rollupKey).join(', ');
  const key = quoteIdent(INSERT_KEY);
  const out: string[] = ROLLUPS.map((r) => `ALTER TABLE ${id(rollupTable(r))} ADD COLUMN ${key} UInt64`);
  // the raw tables as migration 9 made them (frozen: a cloud added later gets its feed in its own migration)
  const raws = [...V5_CLOUDS.map(cloudFlowTable), WIDE_FLOW_TABLE];
  for (const raw of raws) {
    const feed = feedTable(raw);
    const insertKey = (batch: string): string => `cityHash64(${batch}, ${quoteString(raw)}) AS ${key}`;
    out.push(
      `CREATE TABLE IF NOT EXISTS ${id(feed)} AS ${id(raw)} ENGINE = Null`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${feed}_1_raw_mv`)} TO ${id(raw)} AS
          SELECT * FROM ${id(feed)}`,
      ...ROLLUPS.map(
        (r, i) => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${feed}_${2 + i}_${rollupTable(r)}_mv`)} TO ${id(rollupTable(r))} AS
          SELECT ${rollupOfRows(r.seconds)}, ${insertKey('min(batch_id)')}
          FROM ${id(feed)}
          GROUP BY tenant, bucket, ${keys}`,
      ),
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${id(`${feed}_${2 + ROLLUPS.length}_landed_mv`)} TO ${id('flows_landed')} AS
          SELECT batch_id, max(ts) AS ts, count() AS rows FROM ${id(feed)} GROUP BY batch_id`,
    );
  }
  // migration 9's views of the raw tables (on 18.16 the 5m and 1h ones too, read FROM the 1m view)
  for (const raw of raws) {
    out.push(...[...ROLLUPS.map((r) => `${raw}_${rollupTable(r)}_mv`), `${raw}_landed_mv`].map((v) => `DROP TABLE IF EXISTS ${id(v)}`));
  }
  return out;
}
