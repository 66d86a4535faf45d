import { quoteIdent, quoteString } from './clickhouse-sql.js';
import type { Migration } from './clickhouse-schema.js';
import { feedTable, legacyRollupTable, RAW_FLOW_TABLES, ROLLUPS, rollupTable } from './schema.js';

/**
 * The store's cluster mode (`cluster: <name>` in its config): the same migrations as a single
 * server, rewritten for a ClickHouse cluster, so the cluster DDL cannot drift from the frozen
 * single-node lists (and the pinned single-node SQL is left as it is).
 *
 * Layout, on every node of the cluster (each needs the macros {shard} and {replica}):
 *  - `flows`, its rollups and `flows_landed`: Replicated*MergeTree, one replica set per shard
 *    (ZooKeeper path /clickhouse/tables/{shard}/<db>/<table>); the rollup and landed views run on
 *    the node an insert lands on and replication copies their parts to the shard's other replicas.
 *  - `<table>_all`: a Distributed table over each of those, for reads; writes go through
 *    `flows_all` with insert_distributed_sync, sharded by cityHash64(batch_id), so the rows of a
 *    batch land on one shard (and its landed count beside them).
 *  - `batches` (the ledger) and `schema_migrations`: one replica set over every node (path without
 *    {shard}): the ledger is global, and any node answers for any batch.
 *  - Since migration 9 (layout (b)) the raw rows are in `flows_aws`, `flows_gcp`, `flows_azure` (and
 *    the renamed wide table `flows_wide`), each sharded like `flows` was and written through its own
 *    `<table>_all`; `flows` is a view on each node over that node's raw tables, and `flows_all` a
 *    Distributed table over that view: a query through it runs the view on one replica of each shard
 *    (checked on 18.16, with the WHERE pushed into the view's branches when the query asks for
 *    enable_optimize_predicate_expression). `flows_wide` keeps the ZooKeeper path of `flows`
 *    (.../<db>/flows): a renamed Replicated table keeps its path, and no table takes that name again.
 *
 * Exactly-once: the ledger is checked first, as on one server. Beyond it, each batch is inserted as
 * its own block; a Replicated table keeps the hashes of its last blocks in ZooKeeper and drops a
 * block it has seen. Since migration 10 (18.16) the block goes into the raw table's Null feed table,
 * whose views fill the raw table, each rollup and the landed counts, each dropping its own repeat
 * (clickhouseFeedTables): a replica killed between two of those commits is completed by the retry.
 * So a batch sent again (a writer retrying after a replica died mid-insert, two writers racing, a
 * ledger read from a replica that lagged) counts once in the raw table and in every rollup, as long
 * as the repeat comes within the dedup window (last 10000 blocks per table).
 */

/** Tables read through a Distributed table, and the sharding key of the ones written through it. */
export const SHARDED_TABLES: ReadonlyMap<string, string> = new Map([
  // `flows` is a view since migration 9; its `flows_all` is the read path of the query API and Grafana
  ['flows', 'cityHash64(batch_id)'],
  // a batch and its landed count on one shard, whichever raw table holds it
  ...RAW_FLOW_TABLES.map((t): [string, string] => [t, 'cityHash64(batch_id)']),
  // migration 10: writes go through `<raw>_feed_all`, so a batch reaches the shard its raw table shards it to
  ...RAW_FLOW_TABLES.map((t): [string, string] => [feedTable(t), 'cityHash64(batch_id)']),
  ['flows_landed', 'cityHash64(batch_id)'],
  ...ROLLUPS.map((r): [string, string] => [rollupTable(r), 'rand()']),
  ...ROLLUPS.map((r): [string, string] => [legacyRollupTable(r), 'rand()']),
]);
/** One replica set over the whole cluster. */
export const GLOBAL_TABLES: ReadonlySet<string> = new Set(['batches', 'schema_migrations']);

export const distributedName = (table: string): string => `${table}_all`;

/** One statement of cluster DDL, with the settings it needs (18.16 has no SETTINGS clause in INSERT). */
export interface ClusterStatement {
  readonly sql: string;
  readonly settings?: Readonly<Record<string, number>>;
  /** run ON CLUSTER: the server answers one status row per node */
  readonly onCluster: boolean;
  /**
   * Skipped when the entry node already has this table: a statement that cannot be run twice (18.16
   * has no RENAME IF EXISTS) in a migration run again after it failed half-way. The entry node runs
   * its own part of an ON CLUSTER statement; a node that timed out still has it queued in ZooKeeper.
   */
  readonly unlessTable?: string;
}

const REPLICATED_DEDUP = 'replicated_deduplication_window = 10000';

function zkPath(db: string, table: string): string {
  return GLOBAL_TABLES.has(table) ? `/clickhouse/tables/global/${db}/${table}` : `/clickhouse/tables/{shard}/${db}/${table}`;
}

/** `ENGINE = XMergeTree(args)` on its own line → the Replicated engine with its ZooKeeper path. */
function replicatedEngine(sql: string, db: string, table: string): string {
  const re = /ENGINE = (\w*)MergeTree(?:\((.*)\))?[ \t]*$/m;
  const m = re.exec(sql);
  if (!m) throw new Error(`cluster DDL: no MergeTree engine found in the statement for ${db}.${table}`);
  const args = [quoteString(zkPath(db, table)), quoteString('{replica}'), ...(m[2] ? [m[2]] : [])];
  let out = sql.replace(re, `ENGINE = Replicated${m[1]}MergeTree(${args.join(', ')})`);
  // a dedup window far past the default 100 blocks: a batch retried after a minute of other writes is still found
  out = /\n\s*SETTINGS\s/.test(out) ? out.replace(/\n(\s*)SETTINGS\s/, `\n$1SETTINGS ${REPLICATED_DEDUP}, `) : `${out}\n        SETTINGS ${REPLICATED_DEDUP}`;
  return out;
}

/**
 * The cluster variant of migration statements: CREATE, ALTER, DROP and RENAME get ON CLUSTER, MergeTree engines
 * become Replicated, every sharded table (and a view with a read path, `flows`) gets its Distributed table (and its added columns), and an
 * INSERT ... SELECT (a backfill) runs through the Distributed tables so each shard's rows stay on it.
 * A statement of another kind is refused rather than run on one node only.
 */
export function clusterStatements(db: string, cluster: string, statements: readonly string[]): ClusterStatement[] {
  const d = quoteIdent(db);
  const c = quoteIdent(cluster);
  const name = `${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\`?)(\\w+)\\1`;
  const out: ClusterStatement[] = [];
  const alters: { table: string; actions: string[]; index: number; count: number }[] = [];
  for (const raw of statements) {
    const sql = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^CREATE TABLE IF NOT EXISTS ${name} \\(`).exec(sql))) {
      const table = m[2]!;
      const head = m[0].slice(0, -2);
      out.push({ sql: replicatedEngine(`${head} ON CLUSTER ${c} (${sql.slice(m[0].length)}`, db, table), onCluster: true });
      const key = SHARDED_TABLES.get(table);
      if (key !== undefined) out.push(distributedTable(d, c, table, key));
    } else if ((m = new RegExp(`^CREATE TABLE IF NOT EXISTS ${name} AS ${name.replace('\\1', '\\3')} ENGINE = Null$`).exec(sql))) {
      // migration 10's feed tables: on every node, holding nothing (its views write the node's tables)
      const table = m[2]!;
      const head = `CREATE TABLE IF NOT EXISTS ${d}.${quoteIdent(table)}`;
      out.push({ sql: `${head} ON CLUSTER ${c}${sql.slice(sql.indexOf(' AS '))}`, onCluster: true });
      const key = SHARDED_TABLES.get(table);
      if (key !== undefined) out.push(distributedTable(d, c, table, key));
    } else if ((m = new RegExp(`^CREATE MATERIALIZED VIEW IF NOT EXISTS ${name} TO `).exec(sql))) {
      const at = m[0].length - ' TO '.length;
      out.push({ sql: `${sql.slice(0, at)} ON CLUSTER ${c}${sql.slice(at)}`, onCluster: true });
    } else if ((m = new RegExp(`^ALTER TABLE ${name} `).exec(sql))) {
      const table = m[2]!;
      const rest = sql.slice(m[0].length);
      // consecutive ALTERs of one table become one statement (one round of the DDL queue, not one per column)
      const prev = alters.at(-1);
      if (prev && prev.index === out.length - prev.count && prev.table === table) prev.actions.push(rest);
      else alters.push({ table, actions: [rest], index: out.length, count: 0 });
      const a = alters.at(-1)!;
      out.splice(a.index, a.count);
      const stmts: ClusterStatement[] = [{ sql: `ALTER TABLE ${d}.${quoteIdent(table)} ON CLUSTER ${c} ${a.actions.join(', ')}`, onCluster: true }];
      const key = SHARDED_TABLES.get(table);
      if (key !== undefined && a.actions.some((x) => /^(ADD|DROP|MODIFY) COLUMN /.test(x))) {
        // 18.16 refuses ALTER ON CLUSTER of a table that is not replicated on a replicated shard, and
        // a Distributed table holds no rows here (inserts are synchronous): it is made again with the
        // new columns (a replicated ALTER returns once the shard's active replicas applied it)
        stmts.push(
          { sql: `DROP TABLE IF EXISTS ${d}.${quoteIdent(distributedName(table))} ON CLUSTER ${c}`, onCluster: true },
          distributedTable(d, c, table, key),
        );
      }
      out.push(...stmts);
      a.count = stmts.length;
    } else if ((m = new RegExp(`^RENAME TABLE ${name} TO ${name.replace('\\1', '\\3')}$`).exec(sql))) {
      // migration 9's `flows` -> `flows_wide`: the table keeps its replicas and ZooKeeper path on every
      // node; the new name gets its own Distributed table (the old name's `_all` is remade when a view
      // takes the name, see CREATE VIEW below)
      const to = m[4]!;
      out.push({ sql: `${sql} ON CLUSTER ${c}`, onCluster: true, unlessTable: to });
      const key = SHARDED_TABLES.get(to);
      if (key !== undefined) out.push(distributedTable(d, c, to, key));
    } else if ((m = new RegExp(`^CREATE VIEW IF NOT EXISTS ${name} AS\\s`).exec(sql))) {
      // a plain view (migration 9's `flows` over the raw tables), on every node over its local tables;
      // its Distributed table is made again AS the view, so it has the view's columns (it holds no rows:
      // inserts are synchronous, and one into a view fails anyway)
      const table = m[2]!;
      const at = m[0].length - ' AS '.length;
      out.push({ sql: `${sql.slice(0, at)} ON CLUSTER ${c}${sql.slice(at)}`, onCluster: true });
      const key = SHARDED_TABLES.get(table);
      if (key !== undefined) {
        out.push({ sql: `DROP TABLE IF EXISTS ${d}.${quoteIdent(distributedName(table))} ON CLUSTER ${c}`, onCluster: true }, distributedTable(d, c, table, key));
      }
    } else if ((m = new RegExp(`^DROP TABLE IF EXISTS ${name}$`).exec(sql))) {
      // a view replaced by a later migration (the rollup cascade): dropped on every node
      out.push({ sql: `${sql} ON CLUSTER ${c}`, onCluster: true });
    } else if (/^INSERT INTO /.test(sql)) {
      // the target and the main FROM go through the Distributed tables: each shard runs the SELECT
      // on its own rows, where a subquery reads the shard's local tables (sharded by the same key).
      // A statement with GLOBAL subqueries (tables sharded by different keys) reads every table
      // through its Distributed table: the entry node runs each GLOBAL subquery once over the cluster
      const global = /\bGLOBAL\b/.test(sql);
      let n = 0;
      const viaAll = sql.replace(new RegExp(name, 'g'), (all: string, _q: string, table: string) =>
        (n++ < 2 || global) && SHARDED_TABLES.has(table) ? `${d}.${quoteIdent(distributedName(table))}` : all,
      );
      out.push({ sql: viaAll, settings: { insert_distributed_sync: 1 }, onCluster: false });
    } else {
      throw new Error(`cluster DDL: no cluster form for this migration statement: ${sql.slice(0, 80)}`);
    }
  }
  return out;
}

function distributedTable(d: string, c: string, table: string, key: string): ClusterStatement {
  return {
    sql: `CREATE TABLE IF NOT EXISTS ${d}.${quoteIdent(distributedName(table))} ON CLUSTER ${c} AS ${d}.${quoteIdent(table)}
        ENGINE = Distributed(${c}, ${d}, ${quoteIdent(table)}, ${key})`,
    onCluster: true,
  };
}

/** Created before the migrations, on every node: the database and the global migrations table. */
export function clusterBootstrap(db: string, cluster: string): ClusterStatement[] {
  const d = quoteIdent(db);
  const c = quoteIdent(cluster);
  return [
    { sql: `CREATE DATABASE IF NOT EXISTS ${d} ON CLUSTER ${c}`, onCluster: true },
    {
      sql: replicatedEngine(
        `CREATE TABLE IF NOT EXISTS ${d}.${quoteIdent('schema_migrations')} ON CLUSTER ${c} (version UInt32, name String, applied_at DateTime('UTC'), server String)
        ENGINE = ReplacingMergeTree
        ORDER BY version`,
        db,
        'schema_migrations',
      ),
      onCluster: true,
    },
  ];
}

/** The cluster form of every migration, in order (what `migrate` runs in cluster mode). */
export function clusterMigrations(db: string, cluster: string, migrations: readonly Migration[]): { version: number; name: string; statements: ClusterStatement[] }[] {
  return migrations.map((m) => ({ version: m.version, name: m.name, statements: clusterStatements(db, cluster, m.statements) }));
}

/**
 * The answer of an ON CLUSTER statement (TabSeparated: host, port, status, error, hosts remaining,
 * hosts active): an error naming each node that failed. A node that did not answer in time is
 * named by the server's own timeout error, which the client throws.
 */
export function checkOnClusterAnswer(text: string, what: string): void {
  const failed: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [host, port, status, error] = line.split('\t');
    if (status !== undefined && Number(status) !== 0) failed.push(`${host}:${port}: ${error ?? `status ${status}`}`);
  }
  if (failed.length > 0) throw new Error(`${what} failed on ${failed.length} node(s): ${failed.join('; ')}`);
}
