import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { batchDiff, CLOUDS, colIndex, FIELD_LIST, type FlowBatch } from '@sightline/flow';
import { endpoints } from '@sightline/testkit';
import { rowBinaryBody } from './clickhouse-rowbinary.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { cloudFlowTable, RAW_FLOW_TABLES, rowTime, STORED_FIELDS, WIDE_FLOW_TABLE } from './schema.js';
import { metaFor, sampleBatch } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

/**
 * Layout (b) on ClickHouse (migration 9): a raw table per cloud behind the view `flows`, against the
 * local 18.16. The fixture testdata/d4d7c96/clickhouse-d4d7c96.sql is a database written by the code
 * before this layout (main at d4d7c96, its scripts/make-fixtures.ts: migrations 1-8, tenants acme and
 * globex, synthetic AWS rows of 2026-11-01 00:00-02:00 and the three clouds' sample rows), as the
 * server reported its DDL and rows.
 */

const url = endpoints().clickhouseUrl;
const run = `sightline_layout_${randomBytes(4).toString('hex')}`;
const admin = createClient({ url });
const databases: string[] = [];
let n = 0;
after(async () => {
  for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await admin.close();
});

const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const WINDOW = { from: T0, to: T0 + 3 * 3_600_000 };
const TENANTS = ['acme', 'globex'] as const;

const sqlIn = (db: string) => async (q: string): Promise<Record<string, unknown>[]> => (await admin.query({ query: q.split('DB.').join(`${db}.`), format: 'JSONEachRow' })).json();

async function loadFixture(): Promise<string> {
  const db = `${run}_${n++}`;
  databases.push(db);
  const script = readFileSync(new URL('./testdata/d4d7c96/clickhouse-d4d7c96.sql', import.meta.url), 'utf8').split('__SIGHTLINE_DB__').join(db);
  for (const line of script.split('\n')) {
    const stmt = line.trim().replace(/;$/, '');
    if (stmt.length > 0 && !stmt.startsWith('--')) await admin.command({ query: stmt });
  }
  return db;
}

async function openMigrated(): Promise<{ s: ClickHouseStore; db: string }> {
  const db = `${run}_${n++}`;
  databases.push(db);
  const s = ClickHouseStore.open({ url, database: db });
  await s.migrate();
  return { s, db };
}

/** Per tenant: raw rows, bytes, packets (through `flows`); flows/bytes/packets of each rollup; ledger entries; landed rows. */
async function totals(sql: (q: string) => Promise<Record<string, unknown>[]>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const add = async (what: string, q: string): Promise<void> => {
    for (const r of await sql(q)) out[`${String(r.tenant)} ${what}`] = `${String(r.a)}/${String(r.b)}/${String(r.c)}`;
  };
  await add('flows', 'SELECT tenant, count() AS a, sum(bytes) AS b, sum(packets) AS c FROM DB.flows GROUP BY tenant');
  for (const r of ['1m', '5m', '1h']) await add(`rollup_${r}`, `SELECT tenant, sum(flows) AS a, sum(bytes) AS b, sum(packets) AS c FROM DB.rollup_${r} GROUP BY tenant`);
  await add('batches', 'SELECT tenant, count() AS a, sum(records) AS b, 0 AS c FROM DB.batches GROUP BY tenant');
  await add('landed', "SELECT 'all' AS tenant, sum(rows) AS a, count() AS b, 0 AS c FROM DB.flows_landed");
  return out;
}

/** What the query API asks over the window, per tenant: raw and each rollup. */
async function reads(s: ClickHouseStore): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const tenant of TENANTS) {
    for (const use of ['raw', '1m', '5m', '1h'] as const) {
      const ts = await s.timeSeries(tenant, { ...WINDOW, stepSeconds: 3600, metric: 'bytes', use });
      out[`${tenant} ${use} series`] = ts.points.reduce((a, p) => a + p.value, 0);
      const top = await s.topN(tenant, { ...WINDOW, dimensions: ['dst_k8s_workload', 'service_port'], metric: 'flows', n: 10_000, use });
      out[`${tenant} ${use} top`] = top.rows.reduce((a, r) => a + r.value, 0);
    }
  }
  return out;
}

/** The batch as the store keeps it: times to the microsecond (the precision Sightline writes them out with). */
function asStored(b: FlowBatch): FlowBatch {
  const out = b.slice(0);
  for (const [i, f] of FIELD_LIST.entries()) {
    const c = out.columns[i];
    if (f.kind === 'time' && c instanceof Float64Array) c.forEach((v, k) => (c[k] = Math.round(v * 1000) / 1000));
  }
  return out;
}

const count = async (db: string, table: string, where = '1'): Promise<number> => Number((await sqlIn(db)(`SELECT count() AS n FROM DB.${table} WHERE ${where}`))[0]!.n);

test('layout (b) upgrade: a d4d7c96 database (migrations 1-8) migrates to the cloud tables with every row kept, old rows read through the view, new rows go to their cloud tables', async () => {
  const db = await loadFixture();
  const sql = sqlIn(db);
  const versions = (await sql('SELECT version FROM DB.schema_migrations ORDER BY version')).map((r) => Number(r.version));
  assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8], 'the fixture is a store of migrations 1-8');
  const before = await totals(sql);
  assert.equal(Object.keys(before).length, 11, 'both tenants in every table');
  const s = ClickHouseStore.open({ url, database: db });
  try {
    const beforeReads = await reads(s);
    assert.deepEqual(await s.migrate(), [9, 10]);
    const engines = Object.fromEntries((await sql(`SELECT name, engine FROM system.tables WHERE database = '${db}'`)).map((r) => [String(r.name), String(r.engine)]));
    assert.equal(engines.flows, 'View');
    for (const t of RAW_FLOW_TABLES) assert.equal(engines[t], 'ReplacingMergeTree', `${t} is a table`);
    for (const v of ['rollup_1m_mv', 'flows_landed_mv', 'rollup_5m_from_1m_mv', 'rollup_1h_from_1m_mv']) assert.equal(engines[v], undefined, `${v} (it read the old flows) is gone`);
    assert.equal(await count(db, WIDE_FLOW_TABLE), Number(before['acme flows']!.split('/')[0]) + Number(before['globex flows']!.split('/')[0]), 'the old rows are in flows_wide, renamed, not copied');
    assert.deepEqual(await totals(sql), before, 'every row, rollup row, ledger entry and landed count kept');
    const old = await reads(s);
    assert.deepEqual(old, beforeReads, 'the query functions answer the old rows as before the upgrade');
    for (const tenant of TENANTS) {
      assert.ok(old[`${tenant} raw series`]! > 0);
      for (const use of ['1m', '5m', '1h']) assert.equal(old[`${tenant} ${use} top`], old[`${tenant} raw top`], `${tenant}: ${use} of the old rows equals the raw rows`);
      const [b] = await sql(`SELECT batch_id, records FROM DB.batches WHERE tenant = '${tenant}' ORDER BY batch_id LIMIT 1`);
      assert.equal((await s.readBatch(tenant, String(b!.batch_id))).length, Number(b!.records), `${tenant}: an old batch reads back whole`);
    }
    // new rows: one synthetic AWS batch in the window and the three clouds' sample rows (one mixed batch) per tenant
    const added: Record<string, { flows: number; bytes: number }> = {};
    const written: { tenant: string; id: string; batch: FlowBatch }[] = [];
    for (const [i, tenant] of TENANTS.entries()) {
      const b = enrichedBatch(40, 9100 + i, T0 + 30 * 60_000, 60 * 60_000);
      const m = metaFor(tenant, `layout/${tenant}/new.gz`, b.length);
      const sm = sampleBatch();
      const smMeta = metaFor(tenant, `layout/${tenant}/sample.gz`, sm.length);
      assert.deepEqual(await s.writeBatches([{ meta: m, batch: b }, { meta: smMeta, batch: sm }]), [{ written: true }, { written: true }]);
      let bytes = 0;
      const bc = b.numbers(colIndex('bytes'));
      for (let r = 0; r < b.length; r++) if (!Number.isNaN(bc[r]!)) bytes += bc[r]!;
      added[tenant] = { flows: b.length, bytes };
      written.push({ tenant, id: m.id, batch: b }, { tenant, id: smMeta.id, batch: sm });
    }
    assert.equal(await count(db, WIDE_FLOW_TABLE), Number(before['acme flows']!.split('/')[0]) + Number(before['globex flows']!.split('/')[0]), 'nothing new in flows_wide');
    const sample = sampleBatch();
    for (const cloud of CLOUDS) {
      let rows = 0;
      for (let r = 0; r < sample.length; r++) if (sample.get(r, colIndex('cloud')) === cloud) rows++;
      const synthetic = cloud === 'aws' ? added.acme!.flows + added.globex!.flows : 0;
      assert.equal(await count(db, cloudFlowTable(cloud)), 2 * rows + synthetic, `${cloudFlowTable(cloud)} holds the new ${cloud} rows`);
    }
    for (const w of written) assert.equal(batchDiff(await s.readBatch(w.tenant, w.id), asStored(w.batch)), null, `${w.tenant} ${w.id}: reads back field for field, in row order`);
    const now = await reads(s);
    for (const tenant of TENANTS) {
      for (const use of ['raw', '1m', '5m', '1h'] as const) {
        assert.equal(now[`${tenant} ${use} series`], old[`${tenant} ${use} series`]! + added[tenant]!.bytes, `${tenant} ${use}: old + new bytes`);
        assert.equal(now[`${tenant} ${use} top`], old[`${tenant} ${use} top`]! + added[tenant]!.flows, `${tenant} ${use}: old + new flows`);
      }
    }
    const landed = await sql(`SELECT batch_id, sum(rows) AS n FROM DB.flows_landed WHERE batch_id IN (${written.map((w) => `'${w.id}'`).join(', ')}) GROUP BY batch_id`);
    assert.deepEqual(Object.fromEntries(landed.map((r) => [String(r.batch_id), Number(r.n)])), Object.fromEntries(written.map((w) => [w.id, w.batch.length])), 'landed rows per batch, summed over its cloud tables');
    // a redelivery writes nothing
    const again = await s.writeBatches(written.map((w) => ({ meta: metaFor(w.tenant, `layout/${w.tenant}/${w.batch.length === 40 ? 'new' : 'sample'}.gz`, w.batch.length), batch: w.batch })));
    assert.deepEqual(again, written.map(() => ({ written: false })));
    assert.deepEqual(await reads(s), now);
  } finally {
    await s.close();
  }
});

test('layout (b) writer: a batch of several clouds is split by cloud keeping row_no; rows with no cloud, or filling a column their cloud table lacks, go to flows_wide; rollups and landed counts count each row once', async () => {
  const { s, db } = await openMigrated();
  try {
    const b = sampleBatch();
    const cloud = b.strings(colIndex('cloud'));
    cloud[1] = null; // no cloud
    b.strings(colIndex('src_instance_vm_name'))[2] = 'vm-in-an-aws-row'; // a GCP field on an AWS row
    const m = metaFor('acme', 'layout/mixed.gz', b.length);
    assert.deepEqual(await s.writeBatch(m, b), { written: true });
    const at = async (table: string): Promise<number[]> =>
      (await sqlIn(db)(`SELECT row_no FROM DB.${table} WHERE batch_id = '${m.id}' ORDER BY row_no`)).map((r) => Number(r.row_no));
    const rowsOf = (c: string): number[] => [...Array(b.length).keys()].filter((r) => r !== 1 && r !== 2 && cloud[r] === c);
    for (const c of CLOUDS) assert.deepEqual(await at(cloudFlowTable(c)), rowsOf(c), `${c} rows in ${cloudFlowTable(c)} with their row numbers`);
    assert.deepEqual(await at(WIDE_FLOW_TABLE), [1, 2], 'the row with no cloud and the row with a column flows_aws lacks');
    assert.equal(batchDiff(await s.readBatch('acme', m.id), asStored(b)), null, 'the batch reads back whole, in row order, field for field');
    const [landed] = await sqlIn(db)(`SELECT sum(rows) AS n FROM DB.flows_landed WHERE batch_id = '${m.id}'`);
    assert.equal(Number(landed!.n), b.length);
    for (const r of ['1m', '5m', '1h']) {
      const [x] = await sqlIn(db)(`SELECT sum(flows) AS n FROM DB.rollup_${r} WHERE tenant = 'acme'`);
      assert.equal(Number(x!.n), b.length, `rollup_${r} counts every row once`);
    }
    assert.deepEqual(await s.writeBatch(m, b), { written: false });
  } finally {
    await s.close();
  }
});

test('layout (b) reads: readBatch through the view is exact while a raced copy of the batch is not merged yet (FINAL on a view is ignored by 18.16)', async () => {
  const { s, db } = await openMigrated();
  try {
    const b = enrichedBatch(50, 77, T0, 600_000);
    const m = metaFor('acme', 'layout/raced.gz', b.length);
    assert.deepEqual(await s.writeBatch(m, b), { written: true });
    // a second copy, as a racing writer's insert leaves it before any repair
    const secs = Float64Array.from({ length: b.length }, (_, r) => Math.floor(rowTime(b, r, Date.parse(m.createdAt)) / 1000));
    const { columns, body } = rowBinaryBody([{ meta: m, batch: b, secs }]);
    const res = await admin.exec({ query: `INSERT INTO ${db}.${cloudFlowTable('aws')} (${columns}) FORMAT RowBinary`, values: Readable.from([body]) });
    res.stream.resume();
    await new Promise<void>((ok, fail) => res.stream.on('end', ok).on('error', fail));
    assert.equal(await count(db, 'flows', `batch_id = '${m.id}'`), 2 * b.length, 'two copies unmerged');
    assert.equal(batchDiff(await s.readBatch('acme', m.id), b), null, 'read back once, field for field');
  } finally {
    await s.close();
  }
});

test('layout (b) reads on 18.16: a time filter on the flows view is pushed into each branch (max_rows_to_read)', async (t) => {
  const { s, db } = await openMigrated();
  try {
    const ft = await s.features();
    if (!ft.viewPredicateSetting) {
      t.skip(`${ft.version} pushes the filter by itself`);
      return;
    }
    // day 1: 30,000 rows; day 2: 200 rows (separate partitions: toYYYYMMDD(ts))
    const day = 86_400_000;
    const big = enrichedBatch(30_000, 1, T0, 3_600_000);
    const small = enrichedBatch(200, 2, T0 + day, 3_600_000);
    await s.writeBatches([{ meta: metaFor('acme', 'layout/big.gz', big.length), batch: big }, { meta: metaFor('acme', 'layout/small.gz', small.length), batch: small }]);
    assert.equal(await count(db, 'flows'), 30_200);
    const q = { from: T0 + day, to: T0 + 2 * day, stepSeconds: 3600, metric: 'flows' as const, use: 'raw' as const };
    const limits = { maxRowsToRead: 10_000 };
    const ts = await s.timeSeries('acme', q, { limits });
    assert.equal(ts.points.reduce((a, p) => a + p.value, 0), 200);
    const top = await s.topN('acme', { from: q.from, to: q.to, dimensions: ['dst_k8s_pod'], metric: 'flows', n: 5 }, { limits });
    assert.ok(top.rows.length > 0);
    const list = await s.listFlows('acme', { from: q.from, to: q.to, limit: 10 }, { limits });
    assert.equal(list.rows.length, 10);
    // the same query with the setting off reads every branch whole: the limit stops it (off explicitly:
    // the local server's profile turns it on for SQL that is not the store's, infra/local/clickhouse/users.xml)
    await assert.rejects(
      admin.query({ query: `SELECT count() FROM ${db}.flows WHERE tenant = 'acme' AND ts >= toDateTime(${(T0 + day) / 1000}, 'UTC')`, clickhouse_settings: { max_rows_to_read: '10000', enable_optimize_predicate_expression: 0 } }).then((r) => r.text()),
      /Limit for rows to read exceeded/,
    );
  } finally {
    await s.close();
  }
});

// the stored fields the writer fills come from the field table: guard against a field list the view lacks
test('layout (b): every stored field is a column of the flows view', async () => {
  const { s, db } = await openMigrated();
  try {
    const cols = new Set((await sqlIn(db)(`SELECT name FROM system.columns WHERE database = '${db}' AND table = 'flows'`)).map((r) => String(r.name)));
    for (const f of STORED_FIELDS) assert.ok(cols.has(f.spec.name), f.spec.name);
  } finally {
    await s.close();
  }
});

test('layout (b) migrate: migration 9 run again after its RENAME (a crash before it was recorded) gives the cloud tables the wide table\'s own types', async () => {
  const db = `${run}_${n++}`;
  databases.push(db);
  // a store whose wide table has LowCardinality columns (asked for; 18.16 allows it), then the state a crash right after the RENAME leaves
  const first = ClickHouseStore.open({ url, database: db, lowCardinality: true });
  try {
    await first.migrate();
  } finally {
    await first.close();
  }
  const sql = sqlIn(db);
  const type = async (table: string, col: string): Promise<string> => String((await sql(`SELECT type FROM system.columns WHERE database = '${db}' AND table = '${table}' AND name = '${col}'`))[0]?.type);
  const wide = await type(WIDE_FLOW_TABLE, 'cloud');
  assert.match(wide, /LowCardinality/, 'the wide table was made with LowCardinality');
  const views = (await sql(`SELECT name FROM system.tables WHERE database = '${db}' AND engine = 'MaterializedView'`)).map((r) => String(r.name));
  for (const v of ['flows', ...views, ...CLOUDS.map(cloudFlowTable)]) await admin.command({ query: `DROP TABLE ${db}.${v}` });
  await admin.command({ query: `ALTER TABLE ${db}.schema_migrations DELETE WHERE version = 9` });
  while (Number((await sql(`SELECT count() AS n FROM system.mutations WHERE database = '${db}' AND is_done = 0`))[0]!.n) > 0) await new Promise((ok) => setImmediate(ok));
  // run again by a store whose config no longer asks for LowCardinality
  const again = ClickHouseStore.open({ url, database: db });
  try {
    assert.deepEqual(await again.migrate(), [9]);
    for (const c of CLOUDS) assert.equal(await type(cloudFlowTable(c), 'cloud'), wide, `${cloudFlowTable(c)}.cloud has the wide table's type`);
    // (no write here: inserts into LowCardinality(Nullable) columns fail on 18.16, before layout (b) as well, see the README)
    assert.equal(await count(db, 'flows'), 0, 'the view answers');
  } finally {
    await again.close();
  }
});
