import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from './clickhouse-store.js';
import { DuckDBStore } from './duckdb-store.js';
import { STORED_FIELDS } from './schema.js';
import type { FlowStore } from './store.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

/**
 * An operator upgrading keeps their data: the v1 fixtures (testdata/v1, written by the release
 * before the migrations became append-only, see scripts/make-fixtures.ts) are migrated to the
 * current version; every row is kept, and old and new rows are read through the store's query
 * functions (the ones the query API calls).
 */

const FIXTURES = new URL('./testdata/v1/', import.meta.url);
/** the fixtures' rows: 2026-11-01 00:00 to 02:00 UTC, tenants acme and globex (plus sample rows of 2014-2024) */
const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const TENANTS = ['acme', 'globex'];
const url = endpoints().clickhouseUrl;
const dirs: string[] = [];
const databases: string[] = [];

after(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const c = createClient({ url });
  for (const db of databases) await c.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await c.close();
});

type Totals = Record<string, string>;

/** Per tenant: raw rows, bytes and packets; flows and bytes of each rollup; ledger entries. */
async function totals(sql: (q: string) => Promise<Record<string, unknown>[]>, final: string): Promise<Totals> {
  const out: Totals = {};
  const add = async (what: string, q: string): Promise<void> => {
    for (const r of await sql(q)) out[`${String(r.tenant)} ${what}`] = `${String(r.a)}/${String(r.b)}/${String(r.c)}`;
  };
  await add('flows', `SELECT tenant, count() AS a, sum(bytes) AS b, sum(packets) AS c FROM flows${final} GROUP BY tenant`);
  for (const r of ['1m', '5m', '1h']) await add(r, `SELECT tenant, sum(flows) AS a, sum(bytes) AS b, sum(packets) AS c FROM flows_${r} GROUP BY tenant`);
  await add('batches', `SELECT tenant, count() AS a, sum(records) AS b, 0 AS c FROM batches${final} GROUP BY tenant`);
  return out;
}

/**
 * Migration 4 (DuckDB) / 8 (ClickHouse): the rollups keyed by service port, filled from the store.
 * Before migrating, acme's raw rows older than T0 are deleted (as raw retention would: the rollups
 * outlive the raw rows); globex keeps all of its rows. Each new rollup must then hold, per tenant,
 * the flows, bytes and packets of the old one; acme's buckets before T0 are the old rollup's rows
 * with no service port (the old rows kept no source port), globex's come from its raw rows with
 * their ports, and from T0 on every bucket is grouped from the raw rows (the raw answers below).
 */
async function checkServiceRollups(sql: (q: string) => Promise<Record<string, unknown>[]>, engine: 'duckdb' | 'clickhouse'): Promise<void> {
  const absent = engine === 'duckdb' ? 'service_port IS NULL' : 'k_service_port = -1';
  const before = engine === 'duckdb' ? `bucket < make_timestamp(${T0 * 1000})` : `bucket < toDateTime(${T0 / 1000}, 'UTC')`;
  for (const r of ['1m', '5m', '1h']) {
    const sums = async (table: string, where = '1 = 1'): Promise<Record<string, string>> =>
      Object.fromEntries(
        (await sql(`SELECT tenant, sum(flows) AS a, sum(bytes) AS b, sum(packets) AS c FROM ${table} WHERE ${where} GROUP BY tenant`)).map((x) => [String(x.tenant), `${String(x.a)}/${String(x.b)}/${String(x.c)}`]),
      );
    assert.deepEqual(await sums(`rollup_${r}`), await sums(`flows_${r}`), `rollup_${r}: every flow, byte and packet of flows_${r}`);
    const old = await sums(`flows_${r}`, before);
    assert.ok(old.acme !== undefined && old.globex !== undefined, 'both tenants have rows before T0');
    assert.deepEqual((await sums(`rollup_${r}`, `${before} AND ${absent}`)).acme, old.acme, `rollup_${r}: acme's rows before T0 copied from flows_${r}, service port absent`);
    const portless = await sql(`SELECT count(*) AS n FROM flows WHERE tenant = 'globex' AND ts < ${engine === 'duckdb' ? `make_timestamp(${T0 * 1000})` : `toDateTime(${T0 / 1000}, 'UTC')`} AND src_port IS NULL AND dst_port IS NULL`);
    const globexAbsent = (await sums(`rollup_${r}`, `${before} AND ${absent}`)).globex;
    assert.equal(globexAbsent === undefined ? 0 : Number(globexAbsent.split('/')[0]), Number(portless[0]!.n), `rollup_${r}: globex's rows before T0 grouped from its raw rows, with their service ports`);
  }
}

/** What the query API asks, over the fixtures' two hours: per tenant, from the raw table and from each rollup. */
async function reads(s: FlowStore): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const tenant of TENANTS) {
    for (const use of ['raw', '1m', '5m', '1h'] as const) {
      const ts = await s.timeSeries(tenant, { from: T0, to: T0 + 3 * 3_600_000, stepSeconds: 3600, metric: 'bytes', use });
      out[`${tenant} ${use} series`] = ts.points.reduce((a, p) => a + p.value, 0);
      const top = await s.topN(tenant, { from: T0, to: T0 + 3 * 3_600_000, dimensions: ['dst_k8s_workload'], metric: 'flows', n: 10_000, use });
      out[`${tenant} ${use} top`] = top.rows.reduce((a, r) => a + r.value, 0);
      const ports = await s.topN(tenant, { from: T0, to: T0 + 3 * 3_600_000, dimensions: ['service_port', 'dst_k8s_workload'], metric: 'bytes', n: 10_000, use });
      out[`${tenant} ${use} ports`] = ports.rows.length;
      out[`${tenant} ${use} ports ${JSON.stringify(ports.rows)}`] = 1;
    }
  }
  return out;
}

/** New rows after the upgrade: one batch per tenant in the same hours. */
async function writeNew(s: FlowStore): Promise<Record<string, { flows: number; bytes: number }>> {
  const added: Record<string, { flows: number; bytes: number }> = {};
  for (const [i, tenant] of TENANTS.entries()) {
    const b = enrichedBatch(40, 9000 + i, T0 + 30 * 60_000, 60 * 60_000);
    assert.deepEqual(await s.writeBatch(metaFor(tenant, `upgrade/${tenant}/new.gz`, b.length), b), { written: true });
    const bytes = b.numbers(STORED_FIELDS.findIndex((f) => f.spec.name === 'bytes'));
    let sum = 0;
    for (let r = 0; r < b.length; r++) if (!Number.isNaN(bytes[r]!)) sum += bytes[r]!;
    added[tenant] = { flows: b.length, bytes: sum };
  }
  return added;
}

async function checkUpgrade(s: FlowStore, before: Totals, after: () => Promise<Totals>, oldBatch: (tenant: string) => Promise<{ id: string; records: number }>): Promise<void> {
  assert.deepEqual(await after(), before, 'every row, rollup row and ledger entry kept per tenant');
  const old = await reads(s);
  for (const tenant of TENANTS) {
    assert.ok(old[`${tenant} raw series`]! > 0, `${tenant}: old rows readable`);
    for (const use of ['1m', '5m', '1h']) {
      assert.equal(old[`${tenant} ${use} series`], old[`${tenant} raw series`], `${tenant}: ${use} rollup of old rows equals the raw rows`);
      assert.equal(old[`${tenant} ${use} top`], old[`${tenant} raw top`], `${tenant}: ${use} top-N of old rows equals the raw rows`);
      assert.ok(old[`${tenant} raw ports`]! > 1, `${tenant}: service ports of the old rows`);
      const rows = (k: string): string[] => Object.keys(old).filter((x) => x.startsWith(`${tenant} ${k} ports [`)).map((x) => x.slice(`${tenant} ${k} ports `.length));
      assert.deepEqual(rows(use), rows('raw'), `${tenant}: ${use} top-N by service port of old rows equals the raw rows`);
    }
    const ob = await oldBatch(tenant);
    assert.equal((await s.readBatch(tenant, ob.id)).length, ob.records, `${tenant}: an old batch reads back whole`);
  }
  const added = await writeNew(s);
  const now = await reads(s);
  for (const tenant of TENANTS) {
    for (const use of ['raw', '1m', '5m', '1h']) {
      assert.equal(now[`${tenant} ${use} series`], old[`${tenant} ${use} series`]! + added[tenant]!.bytes, `${tenant} ${use}: old + new bytes`);
      assert.equal(now[`${tenant} ${use} top`], old[`${tenant} ${use} top`]! + added[tenant]!.flows, `${tenant} ${use}: old + new flows`);
    }
  }
}

test('upgrade: the v1 DuckDB store file migrates to the current version with every row kept; old and new rows read back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sightline-upgrade-'));
  dirs.push(dir);
  const path = join(dir, 'store.duckdb');
  writeFileSync(path, gunzipSync(readFileSync(new URL('store.duckdb.gz', FIXTURES))));
  const s = await DuckDBStore.open({ path });
  try {
    const sql = (q: string): Promise<Record<string, unknown>[]> =>
      s.withConnection(async (c) => (await c.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[]);
    const before = await totals(sql, '');
    assert.equal(Object.keys(before).length, 10, 'the fixture holds both tenants in every table');
    const versions = (await sql('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version));
    assert.deepEqual(versions, [1, 2], 'the fixture is a v1 store');
    await sql(`DELETE FROM flows WHERE tenant = 'acme' AND ts < make_timestamp(${T0 * 1000})`);
    const kept = await totals(sql, '');
    await s.migrate();
    await checkServiceRollups(sql, 'duckdb');
    const cols = (await sql("SELECT column_name FROM information_schema.columns WHERE table_name = 'flows'")).map((r) => String(r.column_name));
    for (const f of STORED_FIELDS) assert.ok(cols.includes(f.spec.name), `column ${f.spec.name} after the upgrade`);
    await checkUpgrade(s, kept, () => totals(sql, ''), async (tenant) => {
      const [r] = await sql(`SELECT batch_id, records FROM batches WHERE tenant = '${tenant}' ORDER BY batch_id LIMIT 1`);
      return { id: String(r!.batch_id), records: Number(r!.records) };
    });
  } finally {
    await s.close();
  }
});

test('upgrade: the v1 ClickHouse 18.16 database (DDL and rows as the server reported them) migrates with every row kept; old and new rows read back', async () => {
  const database = `sightline_upgrade_${randomBytes(4).toString('hex')}`;
  databases.push(database);
  const script = readFileSync(new URL('clickhouse-v1.sql', FIXTURES), 'utf8').split('__SIGHTLINE_DB__').join(database);
  const c = createClient({ url });
  try {
    // one statement a line; lines starting with -- are comments
    for (const line of script.split('\n')) {
      const stmt = line.trim().replace(/;$/, '');
      if (stmt.length > 0 && !stmt.startsWith('--')) await c.command({ query: stmt });
    }
  } finally {
    await c.close();
  }
  const s = ClickHouseStore.open({ url, database });
  try {
    const sql = async (q: string): Promise<Record<string, unknown>[]> =>
      (await s.client.query({ query: q.replace(/\b(FROM )(flows\w*|rollup_\w*|batches)\b/g, `$1${database}.$2`), format: 'JSONEachRow' })).json();
    const before = await totals(sql, ' FINAL');
    assert.equal(Object.keys(before).length, 10, 'the fixture holds both tenants in every table');
    await s.client.command({ query: `ALTER TABLE ${database}.flows DELETE WHERE tenant = 'acme' AND ts < toDateTime(${T0 / 1000}, 'UTC')` });
    // 18.16 has no mutations_sync: wait until the server reports the mutation done
    while (Number((await sql(`SELECT count() AS n FROM system.mutations WHERE database = '${database}' AND is_done = 0`))[0]!.n) > 0) await new Promise((ok) => setImmediate(ok));
    const kept = await totals(sql, ' FINAL');
    assert.notDeepEqual(kept, before, 'acme lost its raw rows before T0');
    await s.migrate();
    await checkServiceRollups(sql, 'clickhouse');
    const cols = (await sql(`SELECT name FROM system.columns WHERE database = '${database}' AND table = 'flows'`)).map((r) => String(r.name));
    assert.deepEqual(
      cols.filter((n) => !['tenant', 'batch_id', 'row_no', 'ts', 'extra'].includes(n)).sort(),
      STORED_FIELDS.map((f) => f.spec.name).sort(),
      'the flows columns after the upgrade are the field table',
    );
    await checkUpgrade(s, kept, () => totals(sql, ' FINAL'), async (tenant) => {
      const [r] = await sql(`SELECT batch_id, records FROM batches FINAL WHERE tenant = '${tenant}' ORDER BY batch_id LIMIT 1`);
      return { id: String(r!.batch_id), records: Number(r!.records) };
    });
  } finally {
    await s.close();
  }
});
