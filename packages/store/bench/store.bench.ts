import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FlowBatch } from '@sightline/flow';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from '../src/clickhouse-store.js';
import { DuckDBStore } from '../src/duckdb-store.js';
import { servicePortSql } from '../src/query-sql.js';
import { feedTable, RAW_FLOW_TABLES, ROLLUP_DIMS, ROLLUPS, rollupTable, SERVICE_PORT } from '../src/schema.js';
import type { FlowStore } from '../src/store.js';
import { metaFor } from '../src/testdata/sample.js';
import { enrichedBatch, WORKLOADS } from '../src/testdata/synthetic.js';

/**
 * Store benchmark. Every figure is printed with a baseline measured in the same run:
 * - insert rate through writeBatch vs. the engine's own bulk load of the same rows
 *   (DuckDB: INSERT from a Parquet file; ClickHouse: INSERT ... SELECT server-side copy);
 * - bytes per flow on disk of the raw table vs. the same rows as a zstd Parquet file (issue 11's
 *   target: at most 1.5x), with what every other table of the store adds and the largest columns;
 * - top-10 workloads over 24 h of BENCH_FLOWS (default 10M) flows: auto (rollup) vs. raw table.
 * Env: BENCH_BATCHES (default 40 batches of 8192 synthetic flows), BENCH_ROWS_FROM (a Sightline DuckDB
 * store, e.g. the sightline.duckdb of `sightline demo` on the scaled samples: its flows, batch by
 * batch, are the rows instead of the synthetic ones, which fill only ~34 columns), BENCH_INFLIGHT
 * (DuckDB batches issued ahead, default 32), BENCH_FLOWS, BENCH_CH=0 to skip ClickHouse,
 * BENCH_CH_LC=1 for LowCardinality tables on 18.16 (store config `lowCardinality: true`),
 * BENCH_CH_TOPN=0 to skip the ClickHouse 10M query, BENCH_TOPN=0 to skip both 10M queries.
 */
const BATCH = 8192;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 40);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 10_000_000);
const ROWS_FROM = process.env.BENCH_ROWS_FROM;
const RUNS = 5;
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 32);
const T0 = Date.UTC(2024, 10, 26);
const DAY = 86_400_000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const now = (): number => performance.now();

const dir = mkdtempSync(path.join(tmpdir(), 'sightline-store-bench-'));

/** The rows: synthetic, or every batch of an existing store (read back through readBatch, in time order). */
async function loadBatches(): Promise<{ batches: FlowBatch[]; what: string }> {
  if (ROWS_FROM === undefined) {
    return {
      batches: Array.from({ length: BATCHES }, (_, k) => enrichedBatch(BATCH, 1000 + k, T0 + k * 60_000, 3_600_000)),
      what: `${BATCHES} x ${BATCH} synthetic enriched flows`,
    };
  }
  // a copy: opening a store may checkpoint or migrate it
  const copy = path.join(dir, 'source.duckdb');
  copyFileSync(ROWS_FROM, copy);
  if (existsSync(`${ROWS_FROM}.wal`)) copyFileSync(`${ROWS_FROM}.wal`, `${copy}.wal`);
  const src = await DuckDBStore.open({ path: copy });
  const ids = await src.withConnection(async (c) =>
    (await c.runAndReadAll('SELECT tenant, batch_id FROM flows GROUP BY ALL ORDER BY min(ts), batch_id')).getRows().map((r) => [String(r[0]), String(r[1])] as const),
  );
  const batches: FlowBatch[] = [];
  for (const [tenant, id] of ids) batches.push(await src.readBatch(tenant, id));
  await src.close();
  return { batches, what: `${batches.length} batches of ${ROWS_FROM} (${fmt(batches.reduce((a, b) => a + b.length, 0))} flows)` };
}

const { batches, what } = await loadBatches();
const rows = batches.reduce((a, b) => a + b.length, 0);
const pqFile = path.join(dir, 'flows.parquet');

/**
 * Bytes of each table as the store holds it: a copy of the checkpointed file, its tables dropped one
 * by one (each CHECKPOINTed), the blocks each drop frees; the raw tables (a table per cloud and
 * flows_wide, schema.ts RAW_FLOW_TABLES; a store before migration 5 has one, flows) are what is left
 * (with the catalog), and are then dropped one by one for their shares. A copy of one table into a
 * fresh file would measure a recompressed table, not the store's.
 */
async function duckdbTableBytes(file: string): Promise<{ tables: [string, number][]; raw: number; rawTables: [string, number][]; wal: number }> {
  const copy = path.join(dir, 'sizes.duckdb');
  copyFileSync(file, copy);
  const wal = existsSync(`${file}.wal`) ? statSync(`${file}.wal`).size : 0;
  const db = await DuckDBInstance.create(copy);
  const c = await db.connect();
  const used = async (): Promise<number> => {
    const r = (await c.runAndReadAll('PRAGMA database_size')).getRowObjectsJS()[0]!;
    return Number(r.used_blocks) * Number(r.block_size);
  };
  const rawNames = new Set(['flows', ...RAW_FLOW_TABLES]);
  const all = (await c.runAndReadAll('SELECT table_name FROM duckdb_tables() ORDER BY table_name')).getRows().map((r) => String(r[0]));
  const names = all.filter((t) => !rawNames.has(t));
  const tables: [string, number][] = [];
  let before = await used();
  for (const t of names) {
    await c.run(`DROP TABLE "${t}"`);
    await c.run('CHECKPOINT');
    const after = await used();
    tables.push([t, before - after]);
    before = after;
  }
  const raw = before;
  const rawTables: [string, number][] = [];
  for (const t of all.filter((x) => rawNames.has(x))) {
    await c.run(`DROP TABLE "${t}"`);
    await c.run('CHECKPOINT');
    const after = await used();
    rawTables.push([t, before - after]);
    before = after;
  }
  c.closeSync();
  db.closeSync();
  rmSync(copy, { force: true });
  rmSync(`${copy}.wal`, { force: true });
  return { tables, raw, rawTables, wal };
}

async function duckdbInsert(): Promise<void> {
  const file = path.join(dir, 'insert.duckdb');
  const s = await DuckDBStore.open({ path: file });
  await s.migrate();
  const t = now();
  // INFLIGHT batches issued ahead, as the embedded pipeline and the enricher do: the store writes
  // the batches waiting when it frees up as one transaction
  const pending = new Set<Promise<unknown>>();
  for (let k = 0; k < batches.length; k++) {
    if (pending.size >= INFLIGHT) await Promise.race(pending);
    const p: Promise<unknown> = s.writeBatch(metaFor('acme', `bench/${k}`, batches[k]!.length), batches[k]!).finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  const api = (now() - t) / 1000;
  const baseline = await s.withConnection(async (c) => {
    await c.run('CHECKPOINT');
    // through the view: each raw table's rows in turn, the order the store holds them in (before migration 5, arrival order)
    await c.run(`COPY (SELECT * FROM flows) TO '${pqFile}' (FORMAT parquet, COMPRESSION zstd)`);
    await c.run('CREATE TABLE flows_copy AS SELECT * FROM flows LIMIT 0');
    const t1 = now();
    await c.run(`INSERT INTO flows_copy SELECT * FROM read_parquet('${pqFile}')`);
    const secs = (now() - t1) / 1000;
    await c.run('DROP TABLE flows_copy');
    await c.run('CHECKPOINT');
    return secs;
  });
  const storage = await s.withConnection(async (c) => String((await c.runAndReadAll("SELECT tags['storage_version'] FROM duckdb_databases() WHERE NOT internal AND database_name = current_database()")).getRows()[0]?.[0] ?? '?'));
  await s.close();
  const fileBytes = statSync(file).size;
  const pqBytes = statSync(pqFile).size;
  const sizes = await duckdbTableBytes(file);
  console.log(`duckdb insert: ${fmt(rows / api)} flows/s through writeBatch (${what}, ${INFLIGHT} in flight, group commit: ledger + raw + 3 rollups per transaction)`);
  console.log(`  baseline INSERT from Parquet (raw table only): ${fmt(rows / baseline)} flows/s; ratio api/baseline ${fmt(baseline / api, 3)}`);
  console.log(`duckdb bytes/flow: raw tables ${fmt(sizes.raw / rows, 1)}; zstd Parquet of the raw rows ${fmt(pqBytes / rows, 1)}; ratio raw/zstd Parquet ${fmt(sizes.raw / pqBytes, 2)} (target 1.5)`);
  console.log(`  raw tables: ${sizes.rawTables.map(([n, b]) => `${n} ${fmt(b / rows, 1)}`).join(', ')}; left with every table dropped (catalog, free blocks): ${fmt((sizes.raw - sizes.rawTables.reduce((a, [, b]) => a + b, 0)) / rows, 1)}`);
  console.log(`  whole file ${fmt(fileBytes / rows, 1)} (WAL ${fmt(sizes.wal)} bytes; storage ${storage}), of which ${sizes.tables.filter(([, b]) => b > 0).map(([n, b]) => `${n} ${fmt(b / rows, 1)}`).join(', ')}`);
}

/** The compression method of a part's data file, from its first block's header (a local server only). */
function partMethod(partPath: string, column: string): string {
  const file = path.join(partPath, `${encodeURIComponent(column)}.bin`);
  try {
    const fd = openSync(file, 'r');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 16); // 16 bytes of checksum, then the method byte
    closeSync(fd);
    return ({ 0x02: 'none', 0x82: 'lz4', 0x90: 'zstd' } as Record<number, string>)[b[0]!] ?? `0x${b[0]!.toString(16)}`;
  } catch {
    return 'unknown (the parts are not readable here)';
  }
}

async function clickhouseInsert(): Promise<void> {
  const url = endpoints().clickhouseUrl;
  const database = `sightline_bench_${randomBytes(4).toString('hex')}`;
  const lowCardinality = process.env.BENCH_CH_LC === '1';
  const s = ClickHouseStore.open({ url, database, lowCardinality });
  try {
    await s.migrate();
    const ft = await s.features();
    const t = now();
    for (let k = 0; k < batches.length; k++) await s.writeBatch(metaFor('acme', `bench/${k}`, batches[k]!.length), batches[k]!);
    const api = (now() - t) / 1000;
    const c = s.client;
    // the raw tables behind the view flows (store migration 9): each one's rows copied server-side
    const rawTables = RAW_FLOW_TABLES;
    let copy = 0;
    for (const t of rawTables) {
      await c.command({ query: `CREATE TABLE ${database}.${t}_copy AS ${database}.${t}` });
      const t1 = now();
      await c.command({ query: `INSERT INTO ${database}.${t}_copy SELECT * FROM ${database}.${t}` });
      copy += (now() - t1) / 1000;
      await c.command({ query: `DROP TABLE ${database}.${t}_copy` });
    }
    // every table merged to its final parts, as a day's partition is once the server has merged it
    const tables = await rowsOf<{ name: string }>(c, `SELECT name FROM system.tables WHERE database = '${database}' AND engine LIKE '%MergeTree'`);
    for (const { name } of tables) await c.command({ query: `OPTIMIZE TABLE ${database}.${name} FINAL` });
    const sizes = await rowsOf<{ table: string; b: string }>(c, `SELECT table, sum(bytes_on_disk) AS b FROM system.parts WHERE database = '${database}' AND active GROUP BY table ORDER BY b DESC`);
    const raw = sizes.filter((r) => rawTables.includes(r.table)).reduce((a, r) => a + Number(r.b), 0);
    const all = sizes.reduce((a, r) => a + Number(r.b), 0);
    const inRaw = `table IN (${rawTables.map((t) => `'${t}'`).join(', ')})`;
    const cols = await rowsOf<{ name: string; b: string }>(c, `SELECT name, sum(data_compressed_bytes) AS b FROM system.columns WHERE database = '${database}' AND ${inRaw} GROUP BY name ORDER BY b DESC LIMIT 8`);
    const part = (await rowsOf<{ path: string }>(c, `SELECT path FROM system.parts WHERE database = '${database}' AND ${inRaw} AND active ORDER BY rows DESC LIMIT 1`))[0]?.path ?? '';
    const pqBytes = statSync(pqFile).size;
    console.log(`clickhouse ${ft.version} insert: ${fmt(rows / api)} flows/s through writeBatch, one batch at a time (one Native block of the present columns, id lookup + insert + landed check + ledger insert, 1m view and the 5m/1h views fed from it)`);
    console.log(`  baseline server-side INSERT SELECT (also feeds no views): ${fmt(rows / copy)} flows/s; ratio api/baseline ${fmt(copy / api, 3)}`);
    console.log(`clickhouse bytes/flow: raw tables ${fmt(raw / rows, 1)}; zstd Parquet of the raw rows ${fmt(pqBytes / rows, 1)}; ratio raw/zstd Parquet ${fmt(raw / pqBytes, 2)} (target 1.5)`);
    console.log(`  server compression of the parts: ${partMethod(part, 'row_no')}; ${ft.lowCardinality ? 'LowCardinality' : 'plain String'} columns; with every table ${fmt(all / rows, 1)}: ${sizes.map((r) => `${r.table} ${fmt(Number(r.b) / rows, 1)}`).join(', ')}`);
    console.log(`  largest raw columns (bytes/flow): ${cols.map((r) => `${r.name} ${fmt(Number(r.b) / rows, 1)}`).join(', ')}`);
  } finally {
    await s.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await s.close();
  }
}

async function rowsOf<T>(c: ClickHouseClient, query: string): Promise<T[]> {
  return (await c.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Distinct enough to look like a day of traffic: skewed workloads, ports, directions; raw rows only in SQL. */
function genSelect(n: number, tenantExpr: string, tsExpr: string): string {
  const wl = (side: string, r: string) => `'svc-' || lpad(CAST(CAST(floor(${r} * ${WORKLOADS.length}) AS INTEGER) AS VARCHAR), 2, '0') AS ${side}_wl`;
  return `SELECT ${tenantExpr} AS tenant, ${tsExpr} AS ts, ${wl('src', 'random() * random()')}, ${wl('dst', 'random() * random()')},
    (ARRAY[443, 443, 443, 80, 53, 8080, 5432, 6379, 9092, 3306])[1 + CAST(floor(random() * 10) AS INTEGER)] AS dst_port,
    CAST(floor(exp(random() * random() * 12)) AS BIGINT) AS packets
    FROM range(${n})`;
}

/** The query both engines are timed on: top-10 destination workloads by bytes over the 24 h of generated flows. */
const TOP10 = { from: T0, to: T0 + DAY, metric: 'bytes' as const, dimensions: ['dst_k8s_namespace', 'dst_k8s_workload'], n: 10 };

/** Median latency of RUNS runs of TOP10 from one table, with the table that answered and the top key (to compare tables). */
async function timeTopN(s: FlowStore, use: 'auto' | 'raw' | '1m'): Promise<{ ms: number; source: string; top: string }> {
  const xs: number[] = [];
  let last = { source: '', top: '' };
  for (let i = 0; i < RUNS; i++) {
    const t1 = now();
    const r = await s.topN('acme', { ...TOP10, use });
    xs.push(now() - t1);
    last = { source: r.source, top: JSON.stringify(r.rows[0]?.key) };
  }
  return { ms: median(xs), ...last };
}

async function duckdbTopN(): Promise<void> {
  const file = path.join(dir, 'topn.duckdb');
  const s = await DuckDBStore.open({ path: file });
  await s.migrate();
  const nsOf = (w: string): string => `(ARRAY[${['shop', 'payments', 'search', 'kube-system', 'monitoring', 'ingress'].map((x) => `'${x}'`).join(', ')}])[1 + CAST(substr(${w}, 5) AS INTEGER) % 6]`;
  const t = now();
  await s.withConnection(async (c) => {
    await c.run('SELECT setseed(0.42)');
    // Generated in SQL: 10M rows through writeBatch would take minutes and measure the insert again.
    await c.run(`CREATE TEMP TABLE gen AS ${genSelect(FLOWS, "'acme'", `make_timestamp(${T0 * 1000}::BIGINT + CAST(floor(random() * ${DAY * 1000}) AS BIGINT))`)} ORDER BY ts`);
    // AWS rows: their cloud's table (migration 5; flows is a view over the raw tables)
    await c.run(`INSERT INTO flows_aws (tenant, batch_id, row_no, ts, cloud, format, account, src_port, dst_port, protocol, packets, bytes, start, "end", action, direction,
        src_k8s_kind, src_k8s_cluster, src_k8s_namespace, src_k8s_workload_kind, src_k8s_workload, dst_k8s_kind, dst_k8s_cluster, dst_k8s_namespace, dst_k8s_workload_kind, dst_k8s_workload)
      SELECT tenant, 'gen-' || (row_number() OVER () // 8192), (row_number() OVER ()) % 8192, ts, 'aws', 'aws-vpc-text', '123456789012', 40000, dst_port, 6, packets, packets * 800, ts, ts + INTERVAL 60 SECOND,
        'accept', 'ingress', 'pod', 'eks-prod', ${nsOf('src_wl')}, 'Deployment', src_wl, 'pod', 'eks-prod', ${nsOf('dst_wl')}, 'Deployment', dst_wl FROM gen`);
    for (const r of ROLLUPS) {
      // service_port is not a column of flows: it is computed from the two ports, as the writer does
      const keys = ROLLUP_DIMS.map((d) => (d === SERVICE_PORT ? `${servicePortSql('duckdb', (f) => `"${f}"`)} AS "${d}"` : `"${d}"`)).join(', ');
      await c.run(`INSERT INTO ${rollupTable(r)} (tenant, bucket, ${ROLLUP_DIMS.map((d) => `"${d}"`).join(', ')}, flows, packets, bytes)
        SELECT tenant, time_bucket(INTERVAL '${r.seconds} seconds', ts) AS bucket, ${keys}, count(*), sum(packets), sum(bytes)
        FROM flows GROUP BY ALL`);
    }
    await c.run('DROP TABLE gen');
    await c.run('CHECKPOINT');
  });
  console.log(`duckdb top-10: generated ${fmt(FLOWS)} flows over 24 h with rollups in SQL in ${fmt((now() - t) / 1000, 1)} s`);
  await s.topN('acme', { ...TOP10, use: 'raw' }); // warm the buffer pool
  const raw = await timeTopN(s, 'raw');
  const m1 = await timeTopN(s, '1m');
  const auto = await timeTopN(s, 'auto');
  if (raw.top !== auto.top || raw.top !== m1.top) throw new Error(`top-10 differs between tables: raw ${raw.top}, 1m ${m1.top}, auto ${auto.top}`);
  console.log(`  raw table: median ${fmt(raw.ms, 1)} ms; 1m rollup: ${fmt(m1.ms, 1)} ms; auto (${auto.source}): ${fmt(auto.ms, 1)} ms`);
  console.log(`  ratio raw/auto ${fmt(raw.ms / auto.ms, 1)}x; ratio raw/1m ${fmt(raw.ms / m1.ms, 1)}x (median of ${RUNS})`);
  await s.close();
}

async function clickhouseTopN(): Promise<void> {
  const url = endpoints().clickhouseUrl;
  const database = `sightline_bench_${randomBytes(4).toString('hex')}`;
  const s = ClickHouseStore.open({ url, database });
  const c = createClient({ url, request_timeout: 600_000 });
  try {
    await s.migrate();
    const awsInto = (await s.features()).dedupToken ? 'flows_aws' : feedTable('flows_aws');
    const t = now();
    const sec0 = T0 / 1000;
    // Server-side generation through the real insert path (the rollup views fire), in blocks of 1M.
    for (let off = 0; off < FLOWS; off += 1_000_000) {
      const n = Math.min(1_000_000, FLOWS - off);
      await c.command({
        // AWS rows: the store keeps them in flows_aws (migration 9; flows is a view), written through
        // flows_aws_feed on 18.16 (migration 10: its views fill flows_aws and the rollups)
        query: `INSERT INTO ${database}.${awsInto} (tenant, batch_id, row_no, ts, cloud, format, account, src_port, dst_port, protocol, packets, bytes, start, action, direction,
            src_k8s_kind, src_k8s_cluster, src_k8s_namespace, src_k8s_workload_kind, src_k8s_workload, dst_k8s_kind, dst_k8s_cluster, dst_k8s_namespace, dst_k8s_workload_kind, dst_k8s_workload)
          SELECT 'acme', concat('gen-', toString(intDiv(number, 8192))), number % 8192, toDateTime(${sec0} + intHash32(number) % 86400, 'UTC') AS t,
            'aws', 'aws-vpc-text', '123456789012', 40000, [443, 443, 443, 80, 53, 8080, 5432, 6379, 9092, 3306][1 + intHash32(number + 1) % 10], 6,
            toInt64(exp((intHash32(number + 2) % 1000) / 1000 * (intHash32(number + 3) % 1000) / 1000 * 12)) AS p, p * 800, toInt64(t) * 1000000,
            'accept', 'ingress', 'pod', 'eks-prod', 'shop', 'Deployment', concat('svc-', toString(intDiv((intHash32(number + 4) % 48) * (intHash32(number + 5) % 48), 48))),
            'pod', 'eks-prod', 'shop', 'Deployment', concat('svc-', toString(intDiv((intHash32(number + 6) % 48) * (intHash32(number + 7) % 48), 48)))
          FROM system.numbers LIMIT ${off}, ${n}`,
      });
    }
    console.log(`clickhouse top-10: generated ${fmt(FLOWS)} flows over 24 h server-side (rollup views fed) in ${fmt((now() - t) / 1000, 1)} s`);
    const raw = await timeTopN(s, 'raw');
    const auto = await timeTopN(s, 'auto');
    if (raw.top !== auto.top) throw new Error(`top-10 differs: raw ${raw.top}, auto ${auto.top}`);
    console.log(`  raw table: median ${fmt(raw.ms, 1)} ms; auto (${auto.source}): ${fmt(auto.ms, 1)} ms; ratio raw/auto ${fmt(raw.ms / auto.ms, 1)}x (median of ${RUNS})`);
  } finally {
    await c.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await c.close();
    await s.close();
  }
}

try {
  await duckdbInsert();
  if (process.env.BENCH_CH !== '0') await clickhouseInsert();
  if (process.env.BENCH_TOPN !== '0') await duckdbTopN();
  if (process.env.BENCH_CH !== '0' && process.env.BENCH_CH_TOPN !== '0' && process.env.BENCH_TOPN !== '0') await clickhouseTopN();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
