import { randomBytes } from 'node:crypto';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { featuresFor, INSERT_KEY, rawTableViews } from '../src/clickhouse-schema.js';
import { ClickHouseStore } from '../src/clickhouse-store.js';
import { feedTable, RAW_FLOW_TABLES, ROLLUPS, rollupTable } from '../src/schema.js';
import { CLUSTER, dropEverywhere, NODES } from '../src/testdata/cluster.js';
import { BATCHES, fmt, GROUP, median, ROWS, RUNS, writeWorkload } from './insert-workload.js';

/**
 * What ClickHouse migration 10 costs the insert on 18.16: rows written through the feed tables
 * (`<raw>_feed`, whose views fill the raw table, the three rollups from the rows and the landed
 * counts) against the write path before it (rows into the raw table, whose views fill the 1m rollup
 * and landed counts, the 5m and 1h rollups from the 1m view's output), in the same run with the
 * same batches. Each round writes BENCH_BATCHES batches of BENCH_ROWS enriched flows through
 * writeBatches, BENCH_GROUP batches a call, into a fresh database on each side, the sides
 * alternating; medians of BENCH_RUNS rounds (default 3) and the ratio feed/direct are printed.
 * The "direct" side is the current schema with migration 10 undone (its views, feed tables and the
 * rollups' insert_key taken away, migration 9's views of the raw tables made again with
 * `rawTableViews`), so the writer finds no feed and inserts into the raw tables as the code before did.
 * BENCH_CLUSTER=1: both sides in cluster mode on the local cluster (`pnpm infra:up clickhouse-cluster`);
 * else one server, by default the cluster's node n3 used as a plain server (idle, as in
 * cluster.bench.ts; BENCH_URL picks another, e.g. http://127.0.0.1:8123).
 */
const ON_CLUSTER = process.env.BENCH_CLUSTER === '1';
const URL = process.env.BENCH_URL ?? (ON_CLUSTER ? NODES[0].url : NODES[2].url);
const run = randomBytes(3).toString('hex');

/** Migration 10 undone: the writer then inserts into the raw tables, whose views are migration 9's. */
async function withoutFeeds(c: ClickHouseClient, database: string): Promise<void> {
  const on = ON_CLUSTER ? ` ON CLUSTER ${CLUSTER}` : '';
  const views = (await (await c.query({ query: `SELECT name FROM system.tables WHERE database = '${database}' AND engine = 'MaterializedView'`, format: 'JSONEachRow' })).json<{ name: string }>()).map((r) => r.name);
  for (const v of views) await c.command({ query: `DROP TABLE ${database}.${v}${on}` });
  for (const raw of RAW_FLOW_TABLES) {
    for (const t of [`${feedTable(raw)}_all`, feedTable(raw)]) await c.command({ query: `DROP TABLE IF EXISTS ${database}.${t}${on}` });
  }
  // the rollups as before migration 10 (an 18.16 view must fill every column of its target)
  for (const r of ROLLUPS) await c.command({ query: `ALTER TABLE ${database}.${rollupTable(r)}${on} DROP COLUMN ${INSERT_KEY}` });
  const version = (await (await c.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>())[0]!.v;
  for (const raw of RAW_FLOW_TABLES) {
    for (const sql of rawTableViews(database, featuresFor(version, false), raw)) {
      await c.command({ query: ON_CLUSTER ? sql.replace(/^(CREATE MATERIALIZED VIEW IF NOT EXISTS \S+)/, `$1${on}`) : sql });
    }
  }
}

async function round(side: 'feed' | 'direct', i: number): Promise<number> {
  const database = `sightline_bench_${side}_${run}_${i}`;
  const open = (): ClickHouseStore => ClickHouseStore.open(ON_CLUSTER ? { url: URL, database, cluster: CLUSTER } : { url: URL, database });
  const c = createClient({ url: URL, request_timeout: 300_000 });
  const m = open();
  try {
    await m.migrate();
  } finally {
    await m.close();
  }
  if (side === 'direct') await withoutFeeds(c, database);
  // a store opened after the schema is final: it reads which tables exist (feed or not) once
  const w = open();
  try {
    const rate = await writeWorkload(w, i);
    // both sides filled every table: the rollups hold every flow once
    for (const r of ROLLUPS) {
      const table = ON_CLUSTER ? `${rollupTable(r)}_all` : rollupTable(r);
      const [x] = await (await c.query({ query: `SELECT sum(flows) AS n FROM ${database}.${table}`, format: 'JSONEachRow' })).json<{ n: string }>();
      if (Number(x?.n) !== ROWS * BATCHES) throw new Error(`${side}: ${rollupTable(r)} holds ${x?.n} flows, not ${ROWS * BATCHES}`);
    }
    return rate;
  } finally {
    await w.close();
    if (ON_CLUSTER) await dropEverywhere(database);
    else await c.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await c.close();
  }
}

const feed: number[] = [];
const direct: number[] = [];
for (let i = 0; i < RUNS; i++) {
  // alternating which side goes first, so a trend in the machine's load does not favour one
  for (const side of i % 2 === 0 ? (['direct', 'feed'] as const) : (['feed', 'direct'] as const)) (side === 'feed' ? feed : direct).push(await round(side, i));
  console.log(`round ${i + 1}: direct ${fmt(direct.at(-1)!)} rows/s, feed ${fmt(feed.at(-1)!)} rows/s, feed/direct ${(feed.at(-1)! / direct.at(-1)!).toFixed(2)}x`);
}
const f = median(feed);
const d = median(direct);
console.log(`insert ${BATCHES} batches x ${ROWS} flows, ${GROUP} batches a call, ${ON_CLUSTER ? 'cluster' : 'one server'} (${URL}), median of ${RUNS}:`);
console.log(`  direct (raw tables and their views, before migration 10) ${fmt(d)} rows/s`);
console.log(`  feed (migration 10)                                        ${fmt(f)} rows/s`);
console.log(`  ratio feed/direct ${(f / d).toFixed(2)}x (of the medians); median of the rounds' own ratios ${median(feed.map((x, i) => x / direct[i]!)).toFixed(2)}x`);
