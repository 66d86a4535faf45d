import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { FIELD_LIST, type BatchMeta, type FlowBatch } from '@sightline/flow';
import { z } from 'zod';
import { batchFromColumns } from './duckdb-store.js';
import { clickhouseMigrations, clickhouseRollupCascade, featuresFor, ROLLUP_NUMERIC, rollupKey, serviceRollupCascade, type ClickHouseFeatures } from './clickhouse-schema.js';
import { insertToken, routeRows } from './clickhouse-route.js';
import { clickhouseLoggerClass, stderrJsonLogger, type StoreLogger } from './clickhouse-log.js';
import { checkOnClusterAnswer, clusterBootstrap, clusterMigrations, distributedName, SHARDED_TABLES, type ClusterStatement } from './clickhouse-cluster.js';
import { explainConnectionError } from './clickhouse-connect.js';
import { nativeBody } from './clickhouse-native.js';
import { NodeUrlSchema, ShardMutations } from './clickhouse-shard-mutations.js';
import type { RowBinaryItem } from './clickhouse-rowbinary.js';
import { quoteIdent, quoteNumber, quoteString, quoteValue } from './clickhouse-sql.js';
import { cutoffs, emptyReport, ledgerDays, uniformPolicy, type RetentionPolicy, type RetentionReport, type TenantCutoffs } from './retention.js';
import { cloudFlowTable, DEFAULT_RETENTION_DAYS, feedTable, legacyRollupTable, RAW_FLOW_TABLES, ROLLUPS, rollupTable, rowTime, STORED_FIELDS, WIDE_FLOW_TABLE, type RollupSpec } from './schema.js';
import { clickhouseDialect, fieldExpr, filterSql, isStringField } from './query-sql.js';
import { planAggregate, planTimeSeries, planTopN } from './query-plan.js';
import {
  checkBatch,
  checkTenant,
  FlowListQuerySchema,
  parseQuery,
  type AggregateQuery,
  type AggregateResult,
  type Filter,
  type FlowListQuery,
  type FlowListResult,
  type FlowStore,
  type QueryOptions,
  type TimeSeriesQuery,
  type TimeSeriesResult,
  type TopNQuery,
  type TopNResult,
  type WriteItem,
} from './store.js';

export const ClickHouseStoreConfigSchema = z.object({
  url: z.string().url(),
  database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and underscore'),
  username: z.string().default('default'),
  /** never logged nor put in an error */
  password: z.string().default(''),
  /** a file holding the password (a mounted Secret); read at open, one trailing newline dropped; wins over `password` */
  passwordFile: z.string().min(1).optional(),
  /**
   * HTTPS: the CA certificate(s) the server's certificate must chain to (PEM), and for mutual TLS the
   * client's certificate and key. The server name checked is the URL's host.
   */
  tls: z
    .object({ caFile: z.string().min(1), certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), 'tls.certFile and tls.keyFile go together')
    .optional(),
  /**
   * Cluster mode: the name of a cluster in the servers' remote_servers (each node with the macros
   * {shard} and {replica}, and ZooKeeper). Replicated tables on every shard, DDL ON CLUSTER, reads
   * and writes through Distributed tables; see clickhouse-cluster.ts and the README.
   */
  cluster: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and underscore').optional(),
  /**
   * Cluster mode: each node's HTTP URL (no credentials: username, password and tls apply to every
   * node). Retention's mutations go to one replica of each shard over these, not through the ON
   * CLUSTER DDL queue (clickhouse-shard-mutations.ts). Unset: every host of the cluster in
   * system.clusters, with the scheme and port of `url`.
   */
  clusterNodes: z.array(NodeUrlSchema).min(1).optional(),
  /**
   * LowCardinality string columns. Unset: where the server has the type as a stable one (19.0+);
   * not on 18.x, where it is experimental and doubles the server's insert work (measured: 64k
   * enriched flows in ~1.5 s instead of ~0.8 s, and 2.4x end to end in the distributed benchmark).
   * true also uses it on 18.x when the server allows it; false never. Applies to tables created
   * from now on (a migrated table keeps its types).
   */
  lowCardinality: z.boolean().optional(),
  retentionDays: z
    .object({ flows: z.number().positive(), '1m': z.number().positive(), '5m': z.number().positive(), '1h': z.number().positive() })
    .default(DEFAULT_RETENTION_DAYS),
}).refine((c) => c.clusterNodes === undefined || c.cluster !== undefined, { message: 'clusterNodes needs cluster', path: ['clusterNodes'] });
export type ClickHouseStoreConfig = z.input<typeof ClickHouseStoreConfigSchema>;

/** Cluster mode: batch inserts in flight at once in one writeBatches call. */
const CLUSTER_INSERTS_IN_FLIGHT = 4;

/** How often a writer looks for raced batches nobody repaired (a writer killed between insert and check). */
const SWEEP_MS = 5 * 60_000;

/** A batch found in the raw table more than once, with its ledger facts. */
interface Repair {
  id: string;
  tenant: string;
  records: number;
  minS: number;
  maxS: number;
  /** the landed count it was found at */
  landed: number;
}

/** Each row's time in whole seconds (the `ts` column), and their range. */
function span(m: BatchMeta, batch: FlowBatch): { secs: Float64Array; minS: number; maxS: number } {
  const fallback = Date.parse(m.createdAt);
  let minS = Infinity;
  let maxS = -Infinity;
  const secs = new Float64Array(batch.length);
  for (let r = 0; r < batch.length; r++) {
    const sec = Math.floor(rowTime(batch, r, fallback) / 1000);
    secs[r] = sec;
    if (sec < minS) minS = sec;
    if (sec > maxS) maxS = sec;
  }
  if (batch.length === 0) minS = maxS = Math.floor(fallback / 1000);
  return { secs, minS, maxS };
}

interface LedgerEntry {
  meta: BatchMeta;
  records: number;
  minS: number;
  maxS: number;
}

/**
 * The scale-out store. Dedupe: on servers with insert_deduplication_token (22.2+) the insert
 * carries the batch id as its token and the server drops a repeat, dependent rollup views included.
 * On older servers (18.16 here) a ledger is checked before the insert and written after it; a
 * batch whose rows landed but whose ledger entry did not (crash in between) is found by its id
 * in `flows_landed` (row counts per batch, kept by a view of the raw table) and is not written
 * again. `writeBatches` does this for many batches with one lookup, one insert and one ledger write.
 *
 * Raw reads need no FINAL (24 h of 10M flows: FINAL took ~28 s on 18.16): a batch is in the raw
 * table at most once whenever a write has returned. The lookup keeps a redelivered batch out, and
 * the landed count a crashed insert left; what the lookup cannot see is a second writer of the
 * same batch between its lookup and its insert (a consumer that lost its partitions still
 * writing). On a single 18.16 server (no dedup token, no Replicated tables) the writer checks the
 * landed rows of what it inserted before it writes the ledger: more rows than the batch has is a
 * race, repaired before the call returns (see `repair`: the raw table's ReplacingMergeTree key
 * (batch_id, row_no) collapses the copies). The last of two racing inserts always sees both; a
 * writer killed between its insert and that check leaves its offsets uncommitted, so the batch
 * comes back and the lookup finds it (a killed zombie is found by the periodic sweep,
 * `repairDuplicates`). The rollups still count a raced batch twice (see README).
 */
export class ClickHouseStore implements FlowStore {
  readonly engine = 'clickhouse' as const;
  private ft: ClickHouseFeatures | undefined;
  private nextSweep = 0;
  /** column types of `flows` and the raw tables, by table (the Native insert names them); read again after a migration */
  private flowTypes: Promise<Map<string, Map<string, string>>> | undefined;
  /** batches this store found written twice (raced) and repaired, since it opened */
  repairs = 0;

  private constructor(
    private readonly ch: ClickHouseClient,
    private readonly cfg: z.output<typeof ClickHouseStoreConfigSchema>,
    /** cluster mode: retention's mutations, one replica of each shard */
    private readonly shards?: ShardMutations,
  ) {}

  /** `log` receives the client's own messages (default: JSON lines on stderr, never console text). */
  static open(config: ClickHouseStoreConfig, opts: { log?: StoreLogger } = {}): ClickHouseStore {
    const cfg = ClickHouseStoreConfigSchema.parse(config);
    const read = (what: string, file: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (e) {
        // the path and the reason only: never the content
        throw new Error(`clickhouse store (${cfg.url}): cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const password = cfg.passwordFile !== undefined ? read('passwordFile', cfg.passwordFile).toString('utf8').replace(/\r?\n$/, '') : cfg.password;
    const tls = cfg.tls
      ? {
          ca_cert: read('tls.caFile', cfg.tls.caFile),
          ...(cfg.tls.certFile !== undefined && cfg.tls.keyFile !== undefined
            ? { cert: read('tls.certFile', cfg.tls.certFile), key: read('tls.keyFile', cfg.tls.keyFile) }
            : {}),
        }
      : undefined;
    // the store's node and, in cluster mode, each node a mutation goes to: the same credentials and TLS
    const connect = (url: string): ClickHouseClient =>
      createClient({
        url, username: cfg.username, password, request_timeout: 120_000,
        ...(tls ? { tls } : {}),
        log: { LoggerClass: clickhouseLoggerClass(opts.log ?? stderrJsonLogger) },
      });
    const ch = connect(cfg.url);
    const shards = cfg.cluster === undefined
      ? undefined
      : new ShardMutations({ cluster: cfg.cluster, database: cfg.database, entry: ch, entryUrl: cfg.url, nodes: cfg.clusterNodes, connect });
    return new ClickHouseStore(ch, cfg, shards);
  }

  /**
   * A table as reads and writes name it. Cluster mode: the sharded tables through their
   * Distributed table (the ledger and migrations tables are replicated to every node, read locally).
   */
  private t(name: string): string {
    const n = this.cfg.cluster !== undefined && SHARDED_TABLES.has(name) ? distributedName(name) : name;
    return `${quoteIdent(this.cfg.database)}.${quoteIdent(n)}`;
  }

  /** The node-local table (DDL and retention in cluster mode). */
  private local(name: string): string {
    return `${quoteIdent(this.cfg.database)}.${quoteIdent(name)}`;
  }

  /** `view`: the statement reads the `flows` view (migration 9), whose WHERE 18.16 pushes into its branches only when asked */
  private async rows<T extends Record<string, unknown>>(sql: string, opts: QueryOptions = {}, view = false): Promise<T[]> {
    // the client only listens for a later abort; one that already happened would be ignored
    opts.signal?.throwIfAborted();
    const settings: ClickHouseSettings = {};
    if (view && (await this.features()).viewPredicateSetting) settings.enable_optimize_predicate_expression = 1;
    // whole seconds on every server version; the aborted request covers finer deadlines
    if (opts.timeoutMs !== undefined) settings.max_execution_time = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
    const l = opts.limits;
    if (l?.maxMemoryUsage !== undefined) settings.max_memory_usage = String(l.maxMemoryUsage);
    if (l?.maxRowsToRead !== undefined) settings.max_rows_to_read = String(l.maxRowsToRead);
    if (l?.readOverflowMode !== undefined) settings.read_overflow_mode = l.readOverflowMode;
    if (l?.maxThreads !== undefined && l.maxThreads > 0) settings.max_threads = l.maxThreads;
    // a stopped read is killed by its id: the server does not stop a SELECT when the request goes
    // away (18.16 notices the closed socket only when it writes the result)
    const signal = opts.signal;
    const queryId = opts.queryId ?? (signal ? `sightline-${randomUUID()}` : undefined);
    let killed: Promise<void> | undefined;
    const kill = () => {
      killed = this.killQuery(queryId!).catch(() => undefined);
    };
    signal?.addEventListener('abort', kill, { once: true });
    try {
      const rs = await this.ch.query({
        query: sql,
        format: 'JSONEachRow',
        ...(signal ? { abort_signal: signal } : {}),
        ...(queryId !== undefined ? { query_id: queryId } : {}),
        ...(Object.keys(settings).length > 0 ? { clickhouse_settings: settings } : {}),
      });
      return await rs.json<T>();
    } finally {
      signal?.removeEventListener('abort', kill);
      // the read settles once the server has stopped the statement, so its caller's slot is really free
      if (killed) await killed;
    }
  }

  /**
   * Stops a running read by its query id and waits until the server has stopped it (KILL QUERY
   * is synchronous by default). An aborted HTTP request alone does not stop a SELECT on 18.16: the
   * server notices the closed socket only when it writes the result. A query that is not running
   * (finished, or never reached the server) is a no-op.
   */
  /**
   * The server's default `max_threads` for a query (18.16 says `2`, current servers `auto(2)`):
   * what one statement may take when nothing caps it.
   */
  async serverMaxThreads(): Promise<number> {
    const [row] = await this.rows<{ value: string }>("SELECT value FROM system.settings WHERE name = 'max_threads'");
    const n = Number(/(\d+)/.exec(row?.value ?? '')?.[1]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`the server's max_threads is not a number: ${JSON.stringify(row?.value ?? null)}`);
    return n;
  }

  async killQuery(queryId: string): Promise<void> {
    await this.ch.command({ query: `KILL QUERY WHERE query_id = ${quoteString(queryId)} SYNC` });
  }

  /** Which of these query ids the server lists as running (system.processes). */
  async running(queryIds: readonly string[]): Promise<string[]> {
    if (queryIds.length === 0) return [];
    const rows = await this.rows<{ query_id: string }>(
      `SELECT query_id FROM system.processes WHERE query_id IN (${queryIds.map(quoteString).join(', ')})`,
    );
    return rows.map((r) => r.query_id);
  }

  async features(): Promise<ClickHouseFeatures> {
    if (this.ft === undefined) {
      // the first request of nearly every path: a refused login or an untrusted certificate is named here
      const [v] = await this.rows<{ v: string; lc: string }>(
        "SELECT version() AS v, toString(ifNull((SELECT any(value) FROM system.settings WHERE name = 'allow_experimental_low_cardinality_type'), '0')) AS lc",
      ).catch((e: unknown) => {
        throw explainConnectionError(e, { url: this.cfg.url, username: this.cfg.username, tls: this.cfg.tls !== undefined });
      });
      if (!v) throw new Error('clickhouse: SELECT version() returned nothing');
      const ft = featuresFor(v.v, v.lc === '1');
      const stable = featuresFor(v.v, false).lowCardinality;
      this.ft = (this.cfg.lowCardinality ?? stable) ? ft : { ...ft, lowCardinality: false };
    }
    return this.ft;
  }

  async migrate(): Promise<number[]> {
    const ft = await this.features();
    this.flowTypes = undefined;
    if (this.cfg.cluster !== undefined) return this.migrateCluster(ft, this.cfg.cluster);
    const applied: number[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        await this.migrateServer(ft, applied);
        return applied;
      } catch (e) {
        // Another process migrating the same database at the same moment (two enrichers starting): on
        // 18.16 a read of the system tables fails on a table the other process dropped during the read
        // (seen in CI: "Table <db>.flows_landed_mv doesn't exist", from a migration's own lookup). Go on
        // from what is recorded by then: every statement is safe to run again.
        if (attempt >= 5 || !/doesn't exist|does not exist/i.test(e instanceof Error ? e.message : String(e))) throw e;
      }
    }
  }

  /** One pass over the pending migrations of a single server; each one recorded is added to `applied`. */
  private async migrateServer(ft: ClickHouseFeatures, applied: number[]): Promise<void> {
    await this.ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdent(this.cfg.database)}` });
    await this.ch.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.t('schema_migrations')} (version UInt32, name String, applied_at DateTime('UTC'), server String)
        ENGINE = ReplacingMergeTree ORDER BY version`,
    });
    const done = new Set((await this.rows<{ version: number }>(`SELECT version FROM ${this.t('schema_migrations')}`)).map((r) => Number(r.version)));
    let wideTypes: Map<string, string> | undefined;
    for (const base of clickhouseMigrations(this.cfg.database, ft, this.cfg.retentionDays)) {
      if (done.has(base.version)) continue;
      // migration 9 gives the cloud tables the wide table's own types (clickhouseCloudTables)
      if (base.version === 9) wideTypes = await this.wideTableTypes();
      const m = base.version === 9 && wideTypes ? clickhouseMigrations(this.cfg.database, ft, this.cfg.retentionDays, wideTypes).find((x) => x.version === 9)! : base;
      // ClickHouse DDL is not transactional: every statement is IF NOT EXISTS, so a migration
      // interrupted half-way is simply run again.
      let byOther = false;
      for (const sql of m.statements) {
        try {
          await this.ch.command({ query: sql });
        } catch (e) {
          if (await this.columnsAlreadyAdded(sql, e)) continue;
          if (await this.alreadyRenamed(sql, e)) continue;
          // another process migrating the same database recorded this migration meanwhile and went on
          // (seen with migration 9's RENAME: a second store still in migration 8 then finds no `flows` table)
          if (await this.recorded(m.version)) {
            byOther = true;
            break;
          }
          throw new Error(`clickhouse migration ${m.version} (${m.name}) on ${ft.version} failed: ${(e as Error).message}`, { cause: e });
        }
      }
      if (byOther) continue;
      await this.ch.command({
        query: `INSERT INTO ${this.t('schema_migrations')} VALUES (${m.version}, ${quoteString(m.name)}, now(), ${quoteString(ft.version)})`,
      });
      applied.push(m.version);
    }
    if (ft.dedupToken) await this.ensureDedupWindows();
    await this.ensureRollupCascade(ft);
  }

  /**
   * 18.16 has no ADD COLUMN IF NOT EXISTS, so an ADD COLUMN migration run a second time fails with
   * "column already exists": after a crash between its ALTER and its schema_migrations row, or when a
   * second enricher migrates the same database at the same time (seen in CI: the second enricher
   * then failed to start). Its ALTER adds all its columns or none, so when every column it names is
   * there, it was applied (by this store before the crash, or by the other process): go on.
   */
  private async columnsAlreadyAdded(sql: string, e: unknown): Promise<boolean> {
    const table = /^ALTER TABLE \S+\.`?(\w+)`? ADD COLUMN /.exec(sql)?.[1];
    if (table === undefined || !/already exists/.test(e instanceof Error ? e.message : String(e))) return false;
    const names = [...sql.matchAll(/ADD COLUMN (?:IF NOT EXISTS )?`([^`]+)`/g)].map((x) => x[1]!);
    const have = new Set((await this.rows<{ name: string }>(
      `SELECT name FROM system.columns WHERE database = ${quoteString(this.cfg.database)} AND table = ${quoteString(table)}`,
    )).map((r) => r.name));
    return names.length > 0 && names.every((n) => have.has(n));
  }

  /**
   * Migration 9's RENAME of `flows` to `flows_wide` run a second time (a crash before its
   * schema_migrations row, or two processes migrating at once): 18.16 has no RENAME IF EXISTS, and
   * the table is already renamed when `flows_wide` is there.
   */
  private async alreadyRenamed(sql: string, e: unknown): Promise<boolean> {
    const to = /^RENAME TABLE \S+ TO \S+\.`?(\w+)`?$/.exec(sql)?.[1];
    if (to === undefined || !/already exists|doesn't exist|does not exist/i.test(e instanceof Error ? e.message : String(e))) return false;
    const [r] = await this.rows<{ n: string }>(
      `SELECT count() AS n FROM system.tables WHERE database = ${quoteString(this.cfg.database)} AND name = ${quoteString(to)} AND engine LIKE '%MergeTree'`,
    );
    return Number(r?.n ?? 0) > 0;
  }

  private async recorded(version: number): Promise<boolean> {
    const [r] = await this.rows<{ n: string }>(`SELECT count() AS n FROM ${this.t('schema_migrations')} WHERE version = ${quoteNumber(version)}`);
    return Number(r?.n ?? 0) > 0;
  }

  /**
   * The column types of the wide table: `flows` while it is one (before migration 9), else `flows_wide` (a
   * migration 9 run again after its RENAME, so the cloud tables and the view still take the wide table's types).
   */
  private async wideTableTypes(): Promise<Map<string, string> | undefined> {
    const db = quoteString(this.cfg.database);
    const rs = await this.rows<{ table: string; name: string; type: string }>(
      `SELECT table, name, type FROM system.columns WHERE database = ${db} AND table IN ('flows', ${quoteString(WIDE_FLOW_TABLE)})
        AND table IN (SELECT name FROM system.tables WHERE database = ${db} AND engine LIKE '%MergeTree')`,
    );
    const of = (t: string): [string, string][] => rs.filter((r) => r.table === t).map((r) => [r.name, r.type]);
    const cols = of('flows').length > 0 ? of('flows') : of(WIDE_FLOW_TABLE);
    return cols.length > 0 ? new Map(cols) : undefined;
  }

  /**
   * A store created on a server without the token (18.16: no dedup window in its DDL) keeps none when
   * the server is upgraded in place, and the migrations that made its tables never run again; the
   * token then drops nothing. On servers that take the token, flows and every table a view writes to
   * get the window here, at every migrate (idempotent; seen on chDB 26.9: clickhouse-schema.chdb.test.ts).
   */
  private async ensureDedupWindows(): Promise<void> {
    const tables = await this.rows<{ name: string; engine: string; q: string }>(
      `SELECT name, engine, create_table_query AS q FROM system.tables WHERE database = ${quoteString(this.cfg.database)}`,
    );
    const byName = new Map(tables.map((t) => [t.name, t]));
    const fed = new Set(['flows', ...RAW_FLOW_TABLES]);
    for (const t of tables) {
      const to = t.engine === 'MaterializedView' ? /\bTO `?\w+`?\.`?(\w+)`?/.exec(t.q)?.[1] : undefined;
      if (to) fed.add(to);
    }
    for (const name of fed) {
      const t = byName.get(name);
      if (!t || !/^\w*MergeTree$/.test(t.engine) || /non_replicated_deduplication_window = [1-9]/.test(t.q)) continue;
      await this.ch.command({ query: `ALTER TABLE ${this.t(name)} MODIFY SETTING non_replicated_deduplication_window = 10000` });
    }
  }

  /**
   * Cluster mode: the database and the migrations table, then each pending migration's cluster
   * form (clickhouse-cluster.ts), every DDL statement ON CLUSTER and checked on every node's
   * answer; a migration is recorded once, in the replicated migrations table every node reads.
   */
  private async migrateCluster(ft: ClickHouseFeatures, cluster: string): Promise<number[]> {
    for (const st of clusterBootstrap(this.cfg.database, cluster)) await this.runCluster(st, 'cluster bootstrap');
    const done = new Set((await this.rows<{ version: number }>(`SELECT version FROM ${this.t('schema_migrations')}`)).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const base of clusterMigrations(this.cfg.database, cluster, clickhouseMigrations(this.cfg.database, ft, this.cfg.retentionDays))) {
      if (done.has(base.version)) continue;
      // migration 9 gives the cloud tables the wide table's own types, as in migrate() (every node has the entry node's)
      const wideTypes = base.version === 9 ? await this.wideTableTypes() : undefined;
      const m = wideTypes
        ? clusterMigrations(this.cfg.database, cluster, clickhouseMigrations(this.cfg.database, ft, this.cfg.retentionDays, wideTypes)).find((x) => x.version === 9)!
        : base;
      for (const st of m.statements) await this.runCluster(st, `clickhouse migration ${m.version} (${m.name}) on cluster ${cluster}`);
      await this.ch.command({
        query: `INSERT INTO ${this.t('schema_migrations')} VALUES (${m.version}, ${quoteString(m.name)}, now(), ${quoteString(ft.version)})`,
      });
      applied.push(m.version);
    }
    return applied;
  }

  /**
   * Migration 6 made on 18.16 has the 5m and 1h views read FROM the 1m view's name, which a current
   * server never feeds (chDB 26.9: the 5m and 1h tables stay empty), and it never runs again after
   * the server is upgraded in place. On a server that cascades through TO tables, a view still
   * reading the 1m view is remade from the current statement at every migrate (a no-op after).
   */
  private async ensureRollupCascade(ft: ClickHouseFeatures): Promise<void> {
    if (!ft.cascadeViaTarget) return;
    const views = await this.rows<{ name: string; q: string }>(
      `SELECT name, create_table_query AS q FROM system.tables WHERE database = ${quoteString(this.cfg.database)} AND engine = 'MaterializedView'`,
    );
    // migration 6's views (flows_*) and migration 8's (rollup_*), the same way
    const create = [...clickhouseRollupCascade(this.cfg.database, ft), ...serviceRollupCascade(this.cfg.database, ft)].filter((sql) => sql.startsWith('CREATE '));
    let perTable = false;
    for (const v of views) {
      // migration 9 on 18.16: a 5m and a 1h view per raw table, FROM that table's 1m view; a current
      // server feeds the 5m and 1h rollups from rollup_1m's view (made below) instead
      if (/_rollup_(5m|1h)_mv$/.test(v.name) && /\bFROM\s+`?\w+`?\.`?\w+_rollup_1m_mv`?/.test(v.q)) {
        await this.ch.command({ query: `DROP TABLE IF EXISTS ${this.t(v.name)}` });
        perTable = true;
        continue;
      }
      if (!/_from_1m_mv$/.test(v.name) || !/\bFROM\s+`?\w+`?\.`?(flows|rollup)_1m_mv`?/.test(v.q)) continue;
      const sql = create.find((c) => c.includes(quoteIdent(v.name)));
      if (sql === undefined) continue;
      await this.ch.command({ query: `DROP TABLE IF EXISTS ${this.t(v.name)}` });
      await this.ch.command({ query: sql });
    }
    if (perTable) for (const sql of serviceRollupCascade(this.cfg.database, ft)) await this.ch.command({ query: sql });
  }

  private async runCluster(st: ClusterStatement, what: string): Promise<void> {
    // a statement that cannot run twice (migration 9's RENAME), run before by a migration that stopped half-way
    if (st.unlessTable !== undefined) {
      const [r] = await this.rows<{ n: string }>(
        `SELECT count() AS n FROM system.tables WHERE database = ${quoteString(this.cfg.database)} AND name = ${quoteString(st.unlessTable)}`,
      );
      if (Number(r?.n ?? 0) > 0) return;
    }
    try {
      const res = await this.ch.exec({ query: st.sql, ...(st.settings ? { clickhouse_settings: st.settings } : {}) });
      let text = '';
      for await (const chunk of res.stream) text += String(chunk);
      if (st.onCluster) checkOnClusterAnswer(text, what);
    } catch (e) {
      if ((e as Error).message.startsWith(what)) throw e;
      throw new Error(`${what} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async writeBatch(meta: BatchMeta, batch: FlowBatch): Promise<{ written: boolean }> {
    return (await this.writeBatches([{ meta, batch }]))[0]!;
  }

  /**
   * Several batches in three round trips: one lookup of every id (ledger and landed rows), one
   * INSERT of the rows of every batch not written before, one ledger INSERT. The answers are in
   * the order of `items`; an id given twice is written once (its repeats answer `written: false`).
   * Rollups stay exact: a materialized view sums whatever block it is given, and no batch is in
   * the block twice. Servers with insert_deduplication_token get one INSERT per batch, each
   * carrying its own id as the token.
   */
  async writeBatches(items: readonly WriteItem[]): Promise<{ written: boolean }[]> {
    const metas = items.map((it) => checkBatch(it.meta, it.batch));
    const ft = await this.features();
    const out = items.map(() => ({ written: false }));
    const first = new Map<string, number>();
    metas.forEach((m, i) => { if (!first.has(m.id)) first.set(m.id, i); });
    if (first.size === 0) return out;
    const repairing = this.repairsRaces(ft);
    if (repairing && Date.now() >= this.nextSweep) {
      await this.repairDuplicates();
      this.nextSweep = Date.now() + SWEEP_MS;
    }
    const known = await this.known([...first.keys()], repairing);

    const rows: RowBinaryItem[] = [];
    const ledger: LedgerEntry[] = [];
    const repairs: Repair[] = [];
    for (const [id, i] of first) {
      const k = known.get(id);
      const m = metas[i]!;
      const batch = items[i]!.batch;
      // more rows landed than the batch has, not repaired yet: a race (or a partial insert retried)
      const raced = repairing && k !== undefined && k.landed > batch.length && k.landed > k.repaired;
      if (k?.ledger && !raced) continue;
      const { secs, minS, maxS } = span(m, batch);
      if (raced) repairs.push({ id, tenant: m.tenant, records: batch.length, minS, maxS, landed: k.landed });
      if (k?.ledger) continue;
      ledger.push({ meta: m, records: batch.length, minS, maxS });
      // A previous attempt inserted the rows and died before the ledger entry: only the entry is missing.
      if (batch.length > 0 && (k?.landed ?? 0) >= batch.length) continue;
      out[i]!.written = true;
      if (batch.length > 0) rows.push({ meta: m, batch, secs });
    }

    // each batch's rows to its cloud's table (migration 9; before it, `flows`): clickhouse-route.ts;
    // through that table's feed since migration 10 (18.16: clickhouseFeedTables)
    const types = await this.columnTypes();
    const parts = routeRows(rows, types).map((p) => ({ ...p, via: types.has(feedTable(p.table)) ? feedTable(p.table) : p.table }));
    if (ft.dedupToken) {
      const wrote = new Set<string>();
      for (const p of parts) {
        const written = await this.insertRows(p.via, [p.item], { insert_deduplication_token: insertToken(p), deduplicate_blocks_in_dependent_materialized_views: 1 });
        // the server reports 0 written rows when the token dropped the insert as a repeat
        if (written !== 0) wrote.add(p.item.meta.id);
      }
      for (const it of rows) if (!wrote.has(it.meta.id)) out[first.get(it.meta.id)!]!.written = false;
    } else if (this.cfg.cluster !== undefined) {
      // one block per batch, synchronously on its shard: a repeat of the batch is then the same
      // block, which each of the shard's Replicated tables drops on its own (the raw table, the
      // landed count and each rollup: through the feed table since migration 10, so a retry after a
      // replica died half-way through an insert fills the tables it had not reached; clickhouse-cluster.ts)
      // (a few at a time, so both shards work at once; after a failure no new insert starts, the ones
      // in flight are waited for, and the call fails before the ledger write: a retry finds the rest)
      let next = 0;
      let failed: { e: unknown } | undefined;
      const worker = async (): Promise<void> => {
        while (failed === undefined && next < parts.length) {
          const p = parts[next++]!;
          try {
            await this.insertRows(p.via, [p.item], { insert_distributed_sync: 1 });
          } catch (e) {
            failed ??= { e };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CLUSTER_INSERTS_IN_FLIGHT, parts.length) }, worker));
      if (failed !== undefined) throw failed.e;
    } else if (rows.length > 0) {
      // one insert per table, of every batch that goes there
      const byTable = new Map<string, RowBinaryItem[]>();
      for (const p of parts) {
        const l = byTable.get(p.via);
        if (l === undefined) byTable.set(p.via, [p.item]);
        else l.push(p.item);
      }
      for (const [table, its] of byTable) await this.insertRows(table, its, {});
      if (repairing) {
        // the last of two racing inserts sees both here, before anything is confirmed
        const after = await this.known(rows.map((r) => r.meta.id), true);
        for (const r of rows) {
          const k = after.get(r.meta.id);
          if (k !== undefined && k.landed > r.batch.length && k.landed > k.repaired) {
            const e = ledger.find((x) => x.meta.id === r.meta.id)!;
            repairs.push({ id: r.meta.id, tenant: r.meta.tenant, records: r.batch.length, minS: e.minS, maxS: e.maxS, landed: k.landed });
          }
        }
      }
    }
    if (repairs.length > 0) await this.repair(repairs);
    if (ledger.length > 0) {
      await this.ch.command({
        query: `INSERT INTO ${this.t('batches')} VALUES ${ledger
          .map((e) => `(${quoteString(e.meta.id)}, ${quoteString(e.meta.tenant)}, ${e.records}, now(), toDateTime(${e.minS}, 'UTC'), toDateTime(${e.maxS}, 'UTC'))`)
          .join(', ')}`,
      });
    }
    return out;
  }

  /**
   * Per id: whether the ledger has it, how many of its rows the raw table received (the landed
   * view) and, with `repaired`, the landed count at which a repair last found it there once.
   */
  private async known(ids: readonly string[], repaired = false): Promise<Map<string, { ledger: boolean; landed: number; repaired: number }>> {
    const list = ids.map(quoteString).join(', ');
    const found = await this.rows<{ batch_id: string; ledger: string; landed: string; repaired: string }>(
      `SELECT batch_id, toUInt64(1) AS ledger, toUInt64(0) AS landed, toUInt64(0) AS repaired FROM ${this.t('batches')} WHERE batch_id IN (${list})
        UNION ALL
        SELECT batch_id, toUInt64(0) AS ledger, sum(rows) AS landed, toUInt64(0) AS repaired FROM ${this.t('flows_landed')} WHERE batch_id IN (${list}) GROUP BY batch_id${
          repaired
            ? `
        UNION ALL
        SELECT batch_id, toUInt64(0) AS ledger, toUInt64(0) AS landed, max(at_landed) AS repaired FROM ${this.t('flows_repaired')} WHERE batch_id IN (${list}) GROUP BY batch_id`
            : ''
        }`,
    );
    const out = new Map<string, { ledger: boolean; landed: number; repaired: number }>();
    for (const r of found) {
      const k = out.get(r.batch_id) ?? { ledger: false, landed: 0, repaired: 0 };
      if (Number(r.ledger) > 0) k.ledger = true;
      k.landed += Number(r.landed);
      k.repaired = Math.max(k.repaired, Number(r.repaired));
      out.set(r.batch_id, k);
    }
    return out;
  }

  /** Single 18.16-era server: no dedup token and no Replicated tables drop a raced repeat, so the writer repairs it. */
  private repairsRaces(ft: ClickHouseFeatures): boolean {
    return !ft.dedupToken && this.cfg.cluster === undefined;
  }

  /**
   * Finds every batch of the ledger whose landed rows exceed its records and that no repair has
   * seen at that count (a writer killed between a racing insert and its check), and repairs it.
   * Runs on the first write of a store and then every few minutes; both tables it groups hold one
   * row per batch. Returns the ids repaired.
   */
  async repairDuplicates(): Promise<string[]> {
    if (!this.repairsRaces(await this.features())) return [];
    const over = await this.rows<{ batch_id: string; landed: string; records: string; tenant: string; min_s: string; max_s: string }>(
      `SELECT batch_id, landed, records, tenant, min_s, max_s
        FROM (SELECT batch_id, sum(rows) AS landed FROM ${this.t('flows_landed')} GROUP BY batch_id)
        ANY INNER JOIN (SELECT batch_id, any(records) AS records, any(tenant) AS tenant, toUInt32(min(min_ts)) AS min_s, toUInt32(max(max_ts)) AS max_s
          FROM ${this.t('batches')} GROUP BY batch_id) USING batch_id
        WHERE landed > records`,
    );
    if (over.length === 0) return [];
    const seen = await this.known(over.map((r) => r.batch_id), true);
    const todo: Repair[] = over
      .filter((r) => Number(r.landed) > (seen.get(r.batch_id)?.repaired ?? 0))
      .map((r) => ({ id: r.batch_id, tenant: r.tenant, records: Number(r.records), minS: Number(r.min_s), maxS: Number(r.max_s), landed: Number(r.landed) }));
    if (todo.length > 0) await this.repair(todo);
    return todo.map((r) => r.id);
  }

  /**
   * Collapses the copies of raced batches: OPTIMIZE ... FINAL of their day partitions (the
   * ReplacingMergeTree key ends in batch_id, row_no, and a row's copies share its ts, so they are
   * in one partition), then counts each batch's rows in the raw table (its tenant and hours: a key
   * range) and records the landed count it was checked at. A merge can be refused while another
   * runs on the same parts, so the count decides, with a few tries. Costly (a day partition is
   * rewritten), and only ever run for a race.
   */
  private async repair(batches: readonly Repair[]): Promise<void> {
    const days = new Set<number>();
    for (const b of batches) for (let s = b.minS - (b.minS % 86_400); s <= b.maxS; s += 86_400) days.add(Number(new Date(s * 1000).toISOString().slice(0, 10).replace(/-/g, '')));
    const ids = batches.map((b) => quoteString(b.id)).join(', ');
    const tenants = [...new Set(batches.map((b) => b.tenant))].map(quoteString).join(', ');
    const minS = Math.min(...batches.map((b) => b.minS));
    const maxS = Math.max(...batches.map((b) => b.maxS));
    // the raw tables that hold these batches (migration 9: each cloud's table and flows_wide; before, flows)
    const raw = (await this.columnTypes()).has(cloudFlowTable('aws')) ? RAW_FLOW_TABLES : ['flows'];
    const where = `tenant IN (${tenants}) AND ts >= toDateTime(${quoteNumber(minS)}, 'UTC') AND ts <= toDateTime(${quoteNumber(maxS)}, 'UTC') AND batch_id IN (${ids})`;
    const count = async (tables: readonly string[]): Promise<{ tables: Set<string>; counts: Map<string, number> }> => {
      const rs = await this.rows<{ t: string; batch_id: string; n: string }>(
        tables.map((t) => `SELECT ${quoteString(t)} AS t, batch_id, count() AS n FROM ${this.t(t)} WHERE ${where} GROUP BY batch_id`).join(' UNION ALL '),
      );
      const counts = new Map<string, number>();
      for (const r of rs) counts.set(r.batch_id, (counts.get(r.batch_id) ?? 0) + Number(r.n));
      return { tables: new Set(rs.map((r) => r.t)), counts };
    };
    const holding = [...(await count(raw)).tables];
    let counts = new Map<string, number>();
    for (let attempt = 1; ; attempt++) {
      for (const t of holding) for (const day of days) await this.ch.command({ query: `OPTIMIZE TABLE ${this.local(t)} PARTITION ${quoteNumber(day)} FINAL` });
      counts = (await count(holding.length > 0 ? holding : raw)).counts;
      if (batches.every((b) => (counts.get(b.id) ?? 0) <= b.records)) break;
      if (attempt >= 10) {
        const bad = batches.find((b) => (counts.get(b.id) ?? 0) > b.records)!;
        throw new Error(`clickhouse ${this.cfg.database}.${holding.join('/')}: batch ${bad.id} still holds ${counts.get(bad.id)} rows for ${bad.records} records after ${attempt} OPTIMIZE ... FINAL runs`);
      }
      await new Promise((ok) => setTimeout(ok, 200 * attempt));
    }
    await this.ch.command({
      query: `INSERT INTO ${this.t('flows_repaired')} VALUES ${batches.map((b) => `(${quoteString(b.id)}, ${quoteNumber(b.landed)}, now())`).join(', ')}`,
    });
    this.repairs += batches.length;
  }

  /** One INSERT into `table` of the rows of these batches (one Native block, see clickhouse-native.ts); returns the rows the server reports written. */
  private async insertRows(table: string, items: readonly RowBinaryItem[], settings: ClickHouseSettings): Promise<number> {
    const types = (await this.columnTypes()).get(table) ?? new Map<string, string>();
    let native: ReturnType<typeof nativeBody>;
    try {
      native = nativeBody(items, types, `${this.cfg.database}.${table}`);
    } catch (e) {
      this.flowTypes = undefined; // a column added since (another writer migrated): read the types again on the retry
      throw e;
    }
    const { columns, body, plainForLowCardinality } = native;
    const res = await this.ch.exec({
      query: `INSERT INTO ${this.t(table)} (${columns}) FORMAT Native`,
      values: Readable.from([body]),
      clickhouse_settings: plainForLowCardinality ? { ...settings, low_cardinality_allow_in_native_format: 0 } : settings,
    });
    res.stream.resume();
    await new Promise<void>((ok, fail) => res.stream.on('end', ok).on('error', fail));
    return Number(res.summary?.written_rows ?? NaN);
  }

  /**
   * Column types by table: `flows` (the view since migration 9) and the raw tables (read once; again
   * after a migration, or after an insert named a column the map lacked). The cloud tables' presence
   * decides where a batch is written (clickhouse-route.ts).
   */
  private async columnTypes(): Promise<Map<string, Map<string, string>>> {
    this.flowTypes ??= this.rows<{ table: string; name: string; type: string }>(
      `SELECT table, name, type FROM system.columns WHERE database = ${quoteString(this.cfg.database)}
        AND table IN (${['flows', ...RAW_FLOW_TABLES, ...RAW_FLOW_TABLES.map(feedTable)].map(quoteString).join(', ')})`,
    ).then((rs) => {
      const out = new Map<string, Map<string, string>>();
      for (const r of rs) {
        let m = out.get(r.table);
        if (m === undefined) out.set(r.table, (m = new Map()));
        m.set(r.name, r.type);
      }
      return out;
    });
    try {
      return await this.flowTypes;
    } catch (e) {
      this.flowTypes = undefined;
      throw e;
    }
  }

  /** The columns of `flows` as reads see them (the view's, since migration 9). */
  private async viewTypes(): Promise<Map<string, string>> {
    return (await this.columnTypes()).get('flows') ?? new Map();
  }

  /**
   * A time column as epoch ms, by the table's own type rather than the server's features: a store
   * made on 18.16 keeps its Int64 microseconds after the server is upgraded in place (chDB test).
   */
  private timeMs(types: ReadonlyMap<string, string>, name: string): string {
    const c = quoteIdent(name);
    return /DateTime64/.test(types.get(name) ?? '') ? `toUnixTimestamp64Micro(${c}) / 1000` : `${c} / 1000`;
  }

  async readBatch(tenant: string, batchId: string): Promise<FlowBatch> {
    const t = checkTenant(tenant);
    const types = await this.viewTypes();
    const cols = STORED_FIELDS.map((f, i) => {
      const c = quoteIdent(f.spec.name);
      const e =
        f.spec.kind === 'time'
          ? this.timeMs(types, f.spec.name)
          : f.spec.kind === 'number'
            ? `toFloat64(${c})`
            : c;
      return `${e} AS c${i}`;
    });
    // one row per row_no instead of FINAL: FINAL on a view is silently ignored by 18.16 (the raw tables are
    // behind the `flows` view since migration 9), and the copies of a raced batch are the same rows
    const rows = await this.rows<Record<string, string | number | null>>(
      `SELECT row_no, ${cols.join(', ')}, extra AS c${STORED_FIELDS.length} FROM ${this.t('flows')}
        WHERE tenant = ${quoteString(t)} AND batch_id = ${quoteString(batchId)} ORDER BY row_no LIMIT 1 BY row_no`,
      {},
      true,
    );
    const columns: unknown[][] = Array.from({ length: FIELD_LIST.length + 1 }, (_, k) => rows.map((r) => r[`c${k}`] ?? null));
    return batchFromColumns(rows.length, columns);
  }

  async timeSeries(tenant: string, query: TimeSeriesQuery, opts: QueryOptions = {}): Promise<TimeSeriesResult> {
    const qy = planTimeSeries(tenant, query);
    const { tenant: t, rollup } = qy;
    const src = this.source(rollup, qy.metric, await this.features());
    const step = quoteNumber(qy.stepSeconds);
    const rows = await this.rows<{ t: string; v: string }>(
      `SELECT intDiv(toUInt32(${src.time}), ${step}) * ${step} AS t, ${src.measure} AS v
        FROM ${src.table} WHERE ${whereSql(t, src.time, qy.from, qy.to, qy.filters, rollup !== null)}
        GROUP BY t ORDER BY t`,
      opts,
      rollup === null,
    );
    return { source: qy.source, points: rows.map((r) => ({ t: Number(r.t) * 1000, value: Number(r.v) })) };
  }

  async topN(tenant: string, query: TopNQuery, opts: QueryOptions = {}): Promise<TopNResult> {
    const qy = planTopN(tenant, query);
    const { tenant: t, rollup } = qy;
    const src = this.source(rollup, qy.metric, await this.features());
    const dl = clickhouseDialect(rollup !== null, ROLLUP_NUMERIC);
    const dims = qy.dimensions.map((d, i) => `${fieldExpr(dl, d)} AS d${i}`);
    const order = qy.dimensions.map((_, i) => (rollup ? `d${i} = ${ROLLUP_NUMERIC.has(qy.dimensions[i]!) ? '-1' : "''"}, d${i}` : `d${i} IS NULL, d${i}`));
    const rows = await this.rows<Record<string, string | number | null>>(
      `SELECT ${dims.join(', ')}, ${src.measure} AS v FROM ${src.table}
        WHERE ${whereSql(t, src.time, qy.from, qy.to, qy.filters, rollup !== null)}
        GROUP BY ${qy.dimensions.map((_, i) => `d${i}`).join(', ')} ORDER BY v DESC, ${order.join(', ')} LIMIT ${quoteNumber(qy.n)}`,
      opts,
      rollup === null,
    );
    return {
      source: qy.source,
      rows: rows.map((r) => ({
        key: qy.dimensions.map((d, i) => fromKey(d, r[`d${i}`] ?? null, rollup !== null)),
        value: Number(r.v),
      })),
    };
  }

  /** The top `n` keys by `metric`, each with the three measures (the service map's edges). */
  async aggregate(tenant: string, query: AggregateQuery, opts: QueryOptions = {}): Promise<AggregateResult> {
    const qy = planAggregate(tenant, query);
    const { tenant: t, rollup } = qy;
    const ft = await this.features();
    const src = this.source(rollup, qy.metric, ft);
    const m = (x: 'flows' | 'packets' | 'bytes') => this.source(rollup, x, ft).measure;
    const dl = clickhouseDialect(rollup !== null, ROLLUP_NUMERIC);
    const dims = qy.dimensions.map((d, i) => `${fieldExpr(dl, d)} AS d${i}`);
    const order = qy.dimensions.map((_, i) => (rollup ? `d${i} = ${ROLLUP_NUMERIC.has(qy.dimensions[i]!) ? '-1' : "''"}, d${i}` : `d${i} IS NULL, d${i}`));
    const rows = await this.rows<Record<string, string | number | null>>(
      `SELECT ${dims.join(', ')}, ${m('flows')} AS m_flows, ${m('packets')} AS m_packets, ${m('bytes')} AS m_bytes FROM ${src.table}
        WHERE ${whereSql(t, src.time, qy.from, qy.to, qy.filters, rollup !== null)}
        GROUP BY ${qy.dimensions.map((_, i) => `d${i}`).join(', ')} ORDER BY m_${qy.metric} DESC, ${order.join(', ')} LIMIT ${quoteNumber(qy.n)}`,
      opts,
      rollup === null,
    );
    return {
      source: qy.source,
      rows: rows.map((r) => ({
        key: qy.dimensions.map((d, i) => fromKey(d, r[`d${i}`] ?? null, rollup !== null)),
        flows: Number(r.m_flows),
        packets: Number(r.m_packets),
        bytes: Number(r.m_bytes),
      })),
    };
  }

  /** Raw rows in (ts, batch_id, row_no) order, keyset-paginated; no FINAL (see the class comment). */
  async listFlows(tenant: string, query: FlowListQuery, opts: QueryOptions = {}): Promise<FlowListResult> {
    const t = checkTenant(tenant);
    const qy = parseQuery(FlowListQuerySchema, query, 'listFlows');
    const types = await this.viewTypes();
    const dir = qy.order === 'desc' ? 'DESC' : 'ASC';
    let where = whereSql(t, 'ts', qy.from, qy.to, qy.filters, false);
    if (qy.after) {
      const cmp = qy.order === 'desc' ? '<' : '>';
      // the row time is whole seconds here (DateTime); the cursor carries microseconds
      const ts = `toDateTime(${quoteNumber(Math.floor(qy.after.tsUs / 1_000_000))}, 'UTC')`;
      const b = quoteString(qy.after.batchId);
      const r = quoteNumber(qy.after.rowNo);
      where += ` AND (ts ${cmp} ${ts} OR (ts = ${ts} AND (batch_id ${cmp} ${b} OR (batch_id = ${b} AND row_no ${cmp} ${r}))))`;
    }
    const cols = STORED_FIELDS.map((f, i) => {
      const c = quoteIdent(f.spec.name);
      const e = f.spec.kind === 'time' ? this.timeMs(types, f.spec.name) : f.spec.kind === 'number' ? `toFloat64(${c})` : c;
      return `${e} AS c${i}`;
    });
    const rows = await this.rows<Record<string, string | number | null>>(
      `SELECT toUInt32(ts) AS p_ts, batch_id AS p_batch, row_no AS p_row, ${cols.join(', ')}, extra AS c_extra
        FROM ${this.t('flows')} WHERE ${where}
        ORDER BY ts ${dir}, batch_id ${dir}, row_no ${dir} LIMIT ${quoteNumber(qy.limit)}`,
      opts,
      true,
    );
    return {
      rows: rows.map((r) => ({
        position: { tsUs: Number(r.p_ts) * 1_000_000, batchId: String(r.p_batch), rowNo: Number(r.p_row) },
        fields: Object.fromEntries(
          STORED_FIELDS.map((f, i) => {
            const v = r[`c${i}`] ?? null;
            return [f.spec.name, v === null ? null : f.spec.kind === 'string' ? String(v) : Number(v)];
          }),
        ),
        extra: typeof r.c_extra === 'string' ? (JSON.parse(r.c_extra) as Record<string, string>) : null,
      })),
    };
  }

  private source(rollup: RollupSpec | null, metric: 'flows' | 'packets' | 'bytes', ft: ClickHouseFeatures): { table: string; time: string; measure: string } {
    // No FINAL on any server: the writers keep each batch in the raw table once (a token or
    // Replicated tables drop a repeat; on one 18.16 server the writer repairs a race before its
    // write returns, see the class comment). FINAL cost 27.6 s over 24 h of 10M flows on 18.16.
    // sum(1), not count(): count() was wrong under FINAL on 18.16 and costs the same.
    if (rollup === null)
      return {
        table: this.t('flows'),
        time: 'ts',
        measure: metric === 'flows' ? 'sum(toUInt64(1))' : `sum(ifNull(${metric}, 0))`,
      };
    return { table: this.t(rollupTable(rollup)), time: 'bucket', measure: `sum(${metric})` };
  }

  /**
   * Per tenant: each overridden tenant by its own days, every other tenant by the default
   * (`policy` absent: this store's `retentionDays` for everyone). `flows_landed` has no tenant
   * column: it keeps the longest ledger days of all.
   */
  async applyRetention(now: Date = new Date(), policy: RetentionPolicy = uniformPolicy(this.cfg.retentionDays)): Promise<RetentionReport> {
    const report = emptyReport();
    const add = (tier: keyof RetentionReport, r: { rows: number; partitions: number }): void => {
      report[tier].rows += r.rows;
      report[tier].partitions += r.partitions;
    };
    // the raw tables behind the `flows` view (migration 9); `flows` itself before it
    const raw = (await this.columnTypes()).has(cloudFlowTable('aws')) ? RAW_FLOW_TABLES : ['flows'];
    for (const t of raw) add('flows', await this.expire(t, 'ts', cutoffs(policy, now, (d) => d.flows), 'day'));
    const ledger = cutoffs(policy, now, ledgerDays);
    add('ledger', await this.expire('batches', 'max_ts', ledger, 'month'));
    add('ledger', await this.expire('flows_landed', 'ts', { tenants: [], others: ledger.earliest, earliest: ledger.earliest }, 'day'));
    for (const r of ROLLUPS) add(r.name, await this.expire(rollupTable(r), 'bucket', cutoffs(policy, now, (d) => d[r.name]), 'month'));
    // the dst_port-keyed rollups of before migration 8 are no longer written; they expire by the same days
    for (const r of ROLLUPS) add(r.name, await this.expire(legacyRollupTable(r), 'bucket', cutoffs(policy, now, (d) => d[r.name]), 'month'));
    return report;
  }

  /**
   * Drops the partitions wholly older than every tenant's cut-off (cheap: files are unlinked),
   * then deletes each tenant's older rows of the partitions left with a mutation, so what remains
   * is the same as DuckDB's. Newer servers also drop rows through the tables' TTL.
   */
  private async expire(table: string, col: string, c: TenantCutoffs, unit: 'day' | 'month'): Promise<{ rows: number; partitions: number }> {
    // Cluster mode: system.parts shows the entry node's shard only, so whole partitions are not
    // dropped there; the rows go by one mutation per shard, never ON CLUSTER (clickhouse-shard-mutations.ts).
    const parts = this.shards
      ? []
      : await this.rows<{ partition: string; rows: string }>(
          `SELECT partition, sum(rows) AS rows FROM system.parts WHERE database = ${quoteString(this.cfg.database)} AND table = ${quoteString(table)} AND active GROUP BY partition`,
        );
    const iso = c.earliest.toISOString();
    const cutKey = Number(unit === 'day' ? iso.slice(0, 10).replace(/-/g, '') : iso.slice(0, 7).replace(/-/g, ''));
    const out = { rows: 0, partitions: 0 };
    for (const p of parts) {
      const key = Number(p.partition.replace(/'/g, ''));
      if (Number.isFinite(key) && key < cutKey) {
        await this.ch.command({ query: `ALTER TABLE ${this.t(table)} DROP PARTITION ${quoteNumber(key)}` });
        out.partitions++;
        out.rows += Number(p.rows);
      }
    }
    const at = (d: Date): string => `toDateTime(${Math.floor(d.getTime() / 1000)}, 'UTC')`;
    const alts = c.tenants.map((t) => `(tenant = ${quoteString(t.tenant)} AND ${quoteIdent(col)} < ${at(t.before)})`);
    const others = c.tenants.length > 0 ? `tenant NOT IN (${c.tenants.map((t) => quoteString(t.tenant)).join(', ')}) AND ` : '';
    alts.push(`(${others}${quoteIdent(col)} < ${at(c.others)})`);
    const where = alts.join(' OR ');
    const [left] = await this.rows<{ n: string }>(`SELECT count() AS n FROM ${this.t(table)} WHERE ${where}`);
    if (Number(left?.n ?? 0) > 0) {
      if (this.shards) {
        await this.shards.mutate(table, `DELETE WHERE ${where}`);
      } else {
        await this.ch.command({ query: `ALTER TABLE ${this.local(table)} DELETE WHERE ${where}` });
        await this.waitMutations(table);
      }
      out.rows += Number(left!.n);
    }
    return out;
  }

  private async waitMutations(table: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const [r] = await this.rows<{ n: string }>(
        `SELECT count() AS n FROM system.mutations WHERE database = ${quoteString(this.cfg.database)} AND table = ${quoteString(table)} AND is_done = 0`,
      );
      if (Number(r?.n ?? 0) === 0) return;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`clickhouse retention: mutation on ${this.cfg.database}.${table} not done after 60 s`);
  }

  /** For tests and the benchmark. */
  get client(): ClickHouseClient {
    return this.ch;
  }

  async close(): Promise<void> {
    await this.shards?.close();
    await this.ch.close();
  }
}

/** Rollups hold '' and -1 for absent keys; give them back as null like the raw table does. */
function fromKey(dim: string, v: string | number | null, rollup: boolean): string | number | null {
  if (v === null) return null;
  // derived fields (query-sql.ts) are strings
  const isNum = !isStringField(dim);
  if (rollup && (v === '' || (isNum && Number(v) === -1))) return null;
  return isNum ? Number(v) : v;
}

/** Tenant first, always; every value through the quoting functions. */
function whereSql(tenant: string, time: string, from: number, to: number, filters: readonly Filter[], rollup: boolean): string {
  const parts = [
    `tenant = ${quoteString(tenant)}`,
    `${time} >= toDateTime(${quoteNumber(from / 1000)}, 'UTC')`,
    `${time} < toDateTime(${quoteNumber(to / 1000)}, 'UTC')`,
  ];
  const d = clickhouseDialect(rollup, ROLLUP_NUMERIC);
  for (const f of filters) parts.push(filterSql(d, f));
  return parts.join(' AND ');
}
