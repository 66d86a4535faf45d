import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ChdbSession, chdbTestOptions, startChdbHttp, type ChdbHttp } from '@sightline/testkit';
import { clickhouseMigrations, featuresFor } from './clickhouse-schema.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { cloudFlowTable, RAW_FLOW_TABLES, ROLLUP_DIMS, ROLLUPS, rollupTable, STORED_FIELDS } from './schema.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

/**
 * Every migration's current-server DDL on a current ClickHouse engine (chDB 26.x, through the
 * testkit's HTTP adapter, so the store runs its own migrate()): all of them in order on an empty
 * database, and from every earlier version with rows in place. The local server is 18.16, so this
 * is where the DDL a current server gets (DateTime64, LowCardinality, TTL, codecs, skip index,
 * dedup windows) runs at all. The checks read the field table and the rollup keys, not a list of
 * their own, so a new migration is checked as it lands.
 */

const opts = chdbTestOptions();
let opened: Promise<{ s: ChdbSession; http: ChdbHttp }> | undefined;
const env = (): Promise<{ s: ChdbSession; http: ChdbHttp }> =>
  (opened ??= ChdbSession.open().then(async (s) => ({ s, http: await startChdbHttp(s) })));
after(async () => {
  if (!opened) return;
  const { s, http } = await opened;
  await http.close();
  await s.close();
});
let n = 0;
const HOUR = 3_600_000;
// recent rows: the current DDL's TTL (30 days for the raw table) would expire older ones
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

interface Col { name: string; type: string }

/** The base type of a column: LowCardinality and Nullable taken off. */
const base = (t: string): string => t.replace(/^LowCardinality\((.*)\)$/, '$1').replace(/^Nullable\((.*)\)$/, '$1');

test('chdb: migrate applies every migration on a current engine, in order, once; the versions are the current DDL\'s', opts, async () => {
  const { s, http } = await env();
  for (const lowCardinality of [undefined, false]) {
    const database = `schema_${n++}`;
    const store = ClickHouseStore.open({ url: http.url, database, ...(lowCardinality === undefined ? {} : { lowCardinality }) });
    try {
      const ft = await store.features();
      assert.equal(ft.version, s.version);
      assert.ok(ft.dateTime64 && ft.ttl && ft.codecs && ft.skipIndexes && ft.dedupToken && ft.lowCardinality === (lowCardinality ?? true), `current features for ${ft.version}`);
      const versions = clickhouseMigrations(database, ft).map((m) => m.version);
      assert.deepEqual(await store.migrate(), versions);
      assert.deepEqual(await store.migrate(), []);
      const recorded = await s.rows<{ version: number; server: string }>(`SELECT version, server FROM ${database}.schema_migrations ORDER BY version`);
      assert.deepEqual(recorded, versions.map((version) => ({ version, server: s.version })));
      const lc = await s.rows<Col>(`SELECT name, type FROM system.columns WHERE database = '${database}' AND table = 'flows' AND name = 'dst_k8s_workload'`);
      assert.deepEqual(lc, [{ name: 'dst_k8s_workload', type: lowCardinality === false ? 'Nullable(String)' : 'LowCardinality(Nullable(String))' }]);
    } finally {
      await store.close();
    }
  }
});

test('chdb: the flows columns after every migration are the field table\'s, typed for a current server; rollups carry every rollup key', opts, async () => {
  const { s, http } = await env();
  const database = `schema_${n++}`;
  const store = ClickHouseStore.open({ url: http.url, database });
  try {
    await store.migrate();
    const cols = await s.rows<Col>(`SELECT name, type FROM system.columns WHERE database = '${database}' AND table = 'flows'`);
    const got = new Map(cols.map((c) => [c.name, base(c.type)]));
    const want = new Map<string, string>([['tenant', 'String'], ['batch_id', 'String'], ['row_no', 'UInt32'], ['ts', "DateTime('UTC')"], ['extra', 'String']]);
    for (const f of STORED_FIELDS) {
      want.set(f.spec.name, f.spec.kind === 'string' ? 'String' : f.spec.kind === 'time' ? "DateTime64(6, 'UTC')" : f.integer ? 'Int64' : 'Float64');
    }
    assert.deepEqual([...got].sort(), [...want].sort(), 'a field of the field table without its migration (or a column without its field, or the wrong type)');
    for (const r of ROLLUPS) {
      const rc = new Set((await s.rows<Col>(`SELECT name, type FROM system.columns WHERE database = '${database}' AND table = '${rollupTable(r)}'`)).map((c) => c.name));
      for (const c of ['tenant', 'bucket', 'flows', 'packets', 'bytes', ...ROLLUP_DIMS.map((d) => `k_${d}`)]) assert.ok(rc.has(c), `${rollupTable(r)}.${c}`);
    }
  } finally {
    await store.close();
  }
});


/** Tables that must keep a dedup window for the token to drop a repeat everywhere: the raw tables (behind the view flows since migration 9) and every view's target. */
async function tablesWithoutWindow(s: ChdbSession, database: string): Promise<string[]> {
  const tables = await s.rows<{ name: string; engine: string; create_table_query: string }>(
    `SELECT name, engine, create_table_query FROM system.tables WHERE database = '${database}'`,
  );
  const ddl = new Map(tables.map((t) => [t.name, t.create_table_query]));
  const windowOf = (t: string): number => Number(/non_replicated_deduplication_window = (\d+)/.exec(ddl.get(t) ?? '')?.[1] ?? 0);
  const targets = tables
    .filter((t) => t.engine === 'MaterializedView')
    .map((v) => /\bTO `?\w+`?\.`?(\w+)`?/.exec(v.create_table_query)?.[1] ?? assert.fail(`view ${v.name}: no TO table`));
  return [...RAW_FLOW_TABLES, ...new Set(targets)].filter((t) => windowOf(t) === 0).sort();
}

/** A database as a store created on ClickHouse 18.16 left it (its DDL, every migration recorded), on the current engine: the server upgraded in place. */
async function storeFrom1816(s: ChdbSession, url: string): Promise<{ store: ClickHouseStore; database: string }> {
  const scratch = `schema_${n++}`;
  const ref = ClickHouseStore.open({ url, database: scratch });
  await ref.migrate();
  await ref.close();
  const database = `schema_${n++}`;
  await s.query(`CREATE DATABASE ${database}`);
  await s.query(`CREATE TABLE ${database}.schema_migrations AS ${scratch}.schema_migrations`);
  for (const m of clickhouseMigrations(database, featuresFor('18.16.1', false))) {
    for (const sql of m.statements) await s.query(sql);
    await s.query(`INSERT INTO ${database}.schema_migrations SELECT version, name, applied_at, '18.16.1' FROM ${scratch}.schema_migrations WHERE version = ${m.version}`);
  }
  return { store: ClickHouseStore.open({ url, database }), database };
}

// Migrations recorded on 18.16 never run again, and the 18.16 DDL has no dedup window (18.16 has no
// such setting): on the upgraded server the store sends the token, which dropped nothing until
// migrate() gave those tables their window (before: flows, flows_1h, flows_1m, flows_5m, flows_landed had none).
test('chdb: a store created on ClickHouse 18.16 whose server was upgraded to a current one gets the dedup windows the token needs', opts, async () => {
  const { s, http } = await env();
  const { store, database } = await storeFrom1816(s, http.url);
  try {
    assert.deepEqual(await store.migrate(), [], 'every migration was recorded on 18.16');
    assert.ok((await store.features()).dedupToken, 'the upgraded server takes the token');
    assert.deepEqual(await tablesWithoutWindow(s, database), [], 'tables the token cannot dedupe on the upgraded server');
  } finally {
    await store.close();
  }
});

test('chdb: a store created on ClickHouse 18.16 writes and reads on the server upgraded in place', {
  ...opts,
  // failed before: the 5m and 1h views made on 18.16 read FROM the 1m view, which a current server never
  // feeds (5m and 1h stayed empty; migrate() now remakes them), and readBatch and listFlows applied
  // toUnixTimestamp64Micro to the 18.16 Int64 time columns (now chosen by the table's column types)
}, async () => {
  const { s, http } = await env();
  const { store, database } = await storeFrom1816(s, http.url);
  const other = ClickHouseStore.open({ url: http.url, database });
  try {
    await store.migrate();
    const batch = enrichedBatch(300, 7, T0, HOUR);
    const meta = metaFor('acme', 'upgraded/1', batch.length);
    await store.features();
    await other.features();
    await Promise.all([store.writeBatch(meta, batch), other.writeBatch(meta, batch)]);
    const q = { from: T0, to: T0 + HOUR, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '5m', '1h'] as const) {
      assert.deepEqual((await store.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: 300 }], `${use}: the batch once`);
    }
    assert.equal((await store.readBatch('acme', meta.id)).length, 300);
    assert.equal((await store.listFlows('acme', { from: T0, to: T0 + HOUR, limit: 1000 })).rows.length, 300);
  } finally {
    await store.close();
    await other.close();
  }
});

test('chdb: the current DDL\'s TTLs, codec and skip index are in place; every table a view of flows feeds keeps a dedup window as flows does', opts, async () => {
  const { s, http } = await env();
  const database = `schema_${n++}`;
  const store = ClickHouseStore.open({ url: http.url, database });
  try {
    await store.migrate();
    const tables = new Map(
      (await s.rows<{ name: string; engine: string; create_table_query: string }>(
        `SELECT name, engine, create_table_query FROM system.tables WHERE database = '${database}'`,
      )).map((t) => [t.name, t]),
    );
    const ddl = (t: string): string => tables.get(t)?.create_table_query ?? assert.fail(`no table ${t}`);
    // flows is a view since migration 9: the raw tables behind it (each cloud's and flows_wide) carry what flows did
    assert.equal(tables.get('flows')?.engine, 'View');
    for (const t of [...RAW_FLOW_TABLES, 'flows_landed', ...ROLLUPS.map(rollupTable)]) assert.match(ddl(t), /\bTTL\b/, `${t} has a TTL`);
    for (const t of RAW_FLOW_TABLES) {
      assert.match(ddl(t), /`ts` DateTime\('UTC'\) CODEC\(DoubleDelta, ZSTD\(1\)\)/, `${t}: ts codec`);
      assert.match(ddl(t), /INDEX batch_idx batch_id TYPE bloom_filter GRANULARITY 4/, `${t}: skip index`);
    }
    // insert_deduplication_token drops a repeated insert only in tables that keep a dedup log
    // (non_replicated_deduplication_window > 0); a view's target without one gets the repeat's rows
    // again (deduplicate_blocks_in_dependent_materialized_views needs the window on the target too).
    const windowOf = (t: string): number => Number(/non_replicated_deduplication_window = (\d+)/.exec(ddl(t))?.[1] ?? 0);
    for (const t of RAW_FLOW_TABLES) assert.ok(windowOf(t) > 0, `${t} keeps a dedup window`);
    const views = [...tables.values()].filter((t) => t.engine === 'MaterializedView');
    assert.ok(views.length >= ROLLUPS.length, 'the rollups are fed by views');
    const targets = views.map((v) => /\bTO `?\w+`?\.`?(\w+)`?/.exec(v.create_table_query)?.[1] ?? assert.fail(`view ${v.name}: no TO table`));
    const without = targets.filter((t) => windowOf(t) === 0);
    assert.deepEqual(without, [], 'tables fed by a view of flows without non_replicated_deduplication_window (a repeated batch is counted again there)');
  } finally {
    await store.close();
  }
});

test('chdb: a store left at any earlier version migrates to the current one with its rows, and knows its old batches', opts, async () => {
  const { s, http } = await env();
  // the store's own schema_migrations table, to copy for the stores "left behind"
  const scratch = `schema_${n++}`;
  const ref = ClickHouseStore.open({ url: http.url, database: scratch });
  const ft = await ref.features();
  await ref.migrate();
  await ref.close();
  const all = clickhouseMigrations(scratch, ft);
  for (const m of all.slice(0, -1)) {
    const k = m.version;
    const database = `schema_${n++}`;
    await s.query(`CREATE DATABASE ${database}`);
    await s.query(`CREATE TABLE ${database}.schema_migrations AS ${scratch}.schema_migrations`);
    for (const old of clickhouseMigrations(database, ft).filter((x) => x.version <= k)) {
      for (const sql of old.statements) await s.query(sql);
      await s.query(`INSERT INTO ${database}.schema_migrations SELECT * FROM ${scratch}.schema_migrations WHERE version = ${old.version}`);
    }
    // 50 rows of one batch as a writer of that version left them (columns every version has), in
    // `flows` until migration 9 made it a view over the cloud tables (an AWS batch: flows_aws)
    const id = metaFor('acme', `legacy/${k}`, 50).id;
    await s.query(`INSERT INTO ${database}.${k >= 9 ? cloudFlowTable('aws') : 'flows'} (tenant, batch_id, row_no, ts, dst_k8s_workload, packets, bytes)
      SELECT 'acme', '${id}', toUInt32(number), toDateTime(${T0 / 1000} + number * 60, 'UTC'), 'svc-00', 1, 100 FROM numbers(50)`);
    const store = ClickHouseStore.open({ url: http.url, database });
    try {
      assert.deepEqual(await store.migrate(), all.filter((x) => x.version > k).map((x) => x.version), `from version ${k}`);
      const q = { from: T0, to: T0 + HOUR, stepSeconds: 3600, metric: 'bytes' as const, use: 'raw' as const };
      assert.deepEqual((await store.timeSeries('acme', q)).points, [{ t: T0, value: 5000 }], `from version ${k}: old rows read`);
      // the old batch again (a redelivery): its rows are known, so it is not written twice
      assert.deepEqual(await store.writeBatch(metaFor('acme', `legacy/${k}`, 50), enrichedBatch(50, k, T0, HOUR)), { written: false }, `from version ${k}`);
      const fresh = enrichedBatch(200, 100 + k, T0, HOUR);
      assert.deepEqual(await store.writeBatch(metaFor('acme', `new/${k}`, 200), fresh), { written: true });
      const flows = await store.timeSeries('acme', { ...q, metric: 'flows' });
      assert.deepEqual(flows.points, [{ t: T0, value: 250 }], `from version ${k}: old and new rows`);
      // migration 8 fills the service-port rollups from the raw rows, so rows written before the
      // rollups existed (version 1) are in them too
      assert.deepEqual((await store.timeSeries('acme', { ...q, metric: 'flows', use: '1h' })).points, [{ t: T0, value: 250 }], `from version ${k}: rollup`);
    } finally {
      await store.close();
    }
  }
});
