import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import type { BatchMeta, FlowBatch } from '@sightline/flow';
import { endpoints } from '@sightline/testkit';
import { rowBinaryBody } from './clickhouse-rowbinary.js';
import { quoteIdent } from './clickhouse-sql.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { cloudFlowTable, feedTable, RAW_FLOW_TABLES, rowTime } from './schema.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// Issue 11 point 7: the raw table is read without FINAL, so a batch must be in it once whenever a
// write has returned, whatever happened before: a redelivery, a writer killed between its insert
// and its ledger entry, two writers racing on one batch, a racing writer killed before its check.
// Against the real local ClickHouse (18.16 here); counts are read WITHOUT FINAL.
const url = endpoints().clickhouseUrl;
const run = `sightline_dedupe_${randomBytes(4).toString('hex')}`;
const admin = createClient({ url });
const databases: string[] = [];
let n = 0;

after(async () => {
  for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await admin.close();
});

async function openMigrated(database = `${run}_${n++}`): Promise<ClickHouseStore> {
  databases.push(database);
  const s = ClickHouseStore.open({ url, database });
  await s.migrate();
  return s;
}

async function scalar(sql: string): Promise<number> {
  const rs = await admin.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await rs.json<{ v: string }>();
  return Number(row?.v ?? NaN);
}

/** Rows of the raw table per batch, without FINAL. */
async function rawCounts(db: string): Promise<Map<string, number>> {
  const rs = await admin.query({ query: `SELECT batch_id, count() AS n FROM ${quoteIdent(db)}.flows GROUP BY batch_id`, format: 'JSONEachRow' });
  return new Map((await rs.json<{ batch_id: string; n: string }>()).map((r) => [r.batch_id, Number(r.n)]));
}

/** The rows of a batch as a writer's INSERT puts them (no lookup, no ledger, no check): what a writer killed right after its insert, or a racing writer, leaves. */
async function insertOnly(db: string, meta: BatchMeta, batch: FlowBatch): Promise<void> {
  const fallback = Date.parse(meta.createdAt);
  const secs = Float64Array.from({ length: batch.length }, (_, r) => Math.floor(rowTime(batch, r, fallback) / 1000));
  const { columns, body } = rowBinaryBody([{ meta, batch, secs }]);
  // the synthetic batches are AWS flows: the store writes them to flows_aws (migration 9), through its
  // feed table (migration 10 on 18.16, whose views fill the raw table, the rollups and the landed counts)
  const res = await admin.exec({ query: `INSERT INTO ${quoteIdent(db)}.${feedTable(cloudFlowTable('aws'))} (${columns}) FORMAT RowBinary`, values: Readable.from([body]) });
  res.stream.resume();
  await new Promise<void>((ok, fail) => res.stream.on('end', ok).on('error', fail));
}

const T0 = Date.UTC(2026, 10, 30, 10);
const batch = (k: number, rows = 500): FlowBatch => enrichedBatch(rows, 7000 + k, T0 + k * 60_000, 600_000);

/** Top destination workloads by flows from the raw table, through the store's query (no FINAL any more). */
async function rawFlowsTotal(s: ClickHouseStore): Promise<number> {
  const r = await s.topN('acme', { from: T0 - 3_600_000, to: T0 + 86_400_000, metric: 'flows', dimensions: ['cloud'], n: 10, use: 'raw' });
  assert.equal(r.source, 'raw');
  return r.rows.reduce((a, x) => a + x.value, 0);
}

test('clickhouse raw table without FINAL: a redelivered batch is stored once', async () => {
  const s = await openMigrated();
  try {
    const db = databases.at(-1)!;
    const m = metaFor('acme', 'redeliver/1', 500);
    const b = batch(1);
    assert.deepEqual(await s.writeBatches([{ meta: m, batch: b }]), [{ written: true }]);
    assert.deepEqual(await s.writeBatches([{ meta: m, batch: b }, { meta: m, batch: b }]), [{ written: false }, { written: false }]);
    assert.deepEqual([...(await rawCounts(db))], [[m.id, 500]]);
    assert.equal(await rawFlowsTotal(s), 500);
  } finally {
    await s.close();
  }
});

test('clickhouse raw table without FINAL: a writer killed between its insert and its ledger entry; the batch comes back and is not inserted again', async () => {
  const s = await openMigrated();
  try {
    const db = databases.at(-1)!;
    const m = metaFor('acme', 'crash/1', 500);
    const b = batch(2);
    await insertOnly(db, m, b); // the killed writer's insert; no ledger entry
    assert.deepEqual(await s.writeBatches([{ meta: m, batch: b }]), [{ written: false }]);
    assert.equal(await scalar(`SELECT count() AS v FROM ${db}.batches WHERE batch_id = '${m.id}'`), 1, 'the ledger entry the crash lost is written');
    assert.deepEqual([...(await rawCounts(db))], [[m.id, 500]]);
    assert.equal(await rawFlowsTotal(s), 500);
  } finally {
    await s.close();
  }
});

test('clickhouse raw table without FINAL: two writers raced on a batch (both inserted, neither checked); its redelivery repairs it', async () => {
  const s = await openMigrated();
  try {
    const db = databases.at(-1)!;
    const m = metaFor('acme', 'race/1', 500);
    const other = metaFor('acme', 'race/2', 500);
    const b = batch(3);
    await insertOnly(db, m, b);
    await insertOnly(db, m, b);
    assert.equal((await rawCounts(db)).get(m.id), 1000, 'the raced copies are in the table before the repair');
    const res = await s.writeBatches([{ meta: m, batch: b }, { meta: other, batch: batch(4) }]);
    assert.deepEqual(res, [{ written: false }, { written: true }]);
    assert.deepEqual([...(await rawCounts(db))].sort(), [[m.id, 500], [other.id, 500]].sort());
    assert.equal(await rawFlowsTotal(s), 1000);
    assert.equal(s.repairs, 1);
    // repaired once: a later redelivery finds the repair recorded at this landed count
    assert.deepEqual(await s.writeBatches([{ meta: m, batch: b }]), [{ written: false }]);
    assert.equal(s.repairs, 1);
  } finally {
    await s.close();
  }
});

test('clickhouse raw table without FINAL: a racing writer killed after its insert, once the owner had confirmed the batch, is found by the next writer', async () => {
  const s = await openMigrated();
  const db = databases.at(-1)!;
  const m = metaFor('acme', 'zombie/1', 500);
  const b = batch(5);
  try {
    assert.deepEqual(await s.writeBatches([{ meta: m, batch: b }]), [{ written: true }]);
    await insertOnly(db, m, b); // the zombie's late insert; it dies before its check, nobody redelivers the batch
    assert.equal((await rawCounts(db)).get(m.id), 1000);
  } finally {
    await s.close();
  }
  // a writer that starts (a restart, another enricher) sweeps before its first write
  const s2 = ClickHouseStore.open({ url, database: db });
  try {
    const other = metaFor('acme', 'zombie/2', 500);
    assert.deepEqual(await s2.writeBatches([{ meta: other, batch: batch(6) }]), [{ written: true }]);
    assert.equal(s2.repairs, 1);
    assert.deepEqual([...(await rawCounts(db))].sort(), [[m.id, 500], [other.id, 500]].sort());
    assert.equal(await rawFlowsTotal(s2), 1000);
    assert.deepEqual(await s2.repairDuplicates(), [], 'nothing left to repair');
  } finally {
    await s2.close();
  }
});

test('clickhouse raw table without FINAL: two stores writing the same batches at once leave each once', async () => {
  const first = await openMigrated();
  const db = databases.at(-1)!;
  const second = ClickHouseStore.open({ url, database: db });
  try {
    const items = Array.from({ length: 4 }, (_, k) => ({ meta: metaFor('acme', `both/${k}`, 400), batch: batch(10 + k, 400) }));
    for (let round = 0; round < 3; round++) {
      const mine = items.slice(round, round + 2);
      const [a, b] = await Promise.all([first.writeBatches(mine), second.writeBatches(mine)]);
      // together the two wrote each batch; a race may have had both insert it
      for (let i = 0; i < mine.length; i++) assert.ok(a[i]!.written || b[i]!.written || round > 0, `batch ${i} of round ${round} written by one of them`);
      for (const [id, c] of await rawCounts(db)) assert.equal(c, 400, `batch ${id} once after round ${round}`);
    }
    assert.equal((await rawCounts(db)).size, 4);
    assert.equal(await rawFlowsTotal(first), 1600);
  } finally {
    await first.close();
    await second.close();
  }
});

test('clickhouse rollups: the 5m and 1h tables are the raw rows regrouped, as the 1m table is', async () => {
  const s = await openMigrated();
  try {
    const db = databases.at(-1)!;
    // two inserts (one of several batches), spanning several 5m and two 1h buckets
    await s.writeBatches([0, 1, 2].map((k) => ({ meta: metaFor('acme', `roll/${k}`, 700), batch: enrichedBatch(700, 900 + k, T0 + k * 1_200_000, 3_000_000) })));
    await s.writeBatch(metaFor('acme', 'roll/3', 700), enrichedBatch(700, 903, T0, 7_200_000));
    const rs = await admin.query({ query: `SELECT name, engine_full AS e FROM system.tables WHERE database = '${db}' AND name LIKE '%_mv' ORDER BY name`, format: 'JSONEachRow' });
    const views = (await rs.json<{ name: string }>()).map((r) => r.name);
    // migration 8 dropped the dst_port-keyed rollups' views: the service-port rollups are fed instead;
    // migration 9 fed them and the landed rows from each raw table (on 18.16 the 5m and 1h from that
    // table's 1m view); migration 10 (18.16) feeds the raw table, each rollup and the landed rows from the
    // raw table's feed, each from the inserted rows
    assert.deepEqual(views, RAW_FLOW_TABLES.flatMap((t) => ['1_raw', '2_rollup_1m', '3_rollup_5m', '4_rollup_1h', '5_landed'].map((v) => `${feedTable(t)}_${v}_mv`)).sort());
    const per = async (table: string, secs: number, time: string): Promise<string> => {
      const q = await admin.query({
        query: `SELECT intDiv(toUInt32(${time}), ${secs}) * ${secs} AS b, k, sum(f) AS f, sum(p) AS p, sum(y) AS y FROM (
            SELECT ${time}, ${table === 'flows' ? "concat(ifNull(dst_k8s_workload, ''), '/', toString(ifNull(least(ifNull(src_port, dst_port), ifNull(dst_port, src_port)), -1)))" : "concat(k_dst_k8s_workload, '/', toString(k_service_port))"} AS k,
              ${table === 'flows' ? 'toUInt64(1) AS f, ifNull(packets, 0) AS p, ifNull(bytes, 0) AS y' : 'flows AS f, packets AS p, bytes AS y'}
            FROM ${db}.${table}) GROUP BY b, k ORDER BY b, k`,
        format: 'TabSeparated',
      });
      return q.text();
    };
    for (const [table, secs] of [['rollup_5m', 300], ['rollup_1h', 3600]] as const) {
      const fromRaw = await per('flows', secs, 'ts');
      assert.ok(fromRaw.split('\n').length > 10);
      assert.equal(await per(table, secs, 'bucket'), fromRaw, `${table} equals the raw rows grouped by ${secs} s`);
      assert.equal(await per('rollup_1m', secs, 'bucket'), fromRaw);
    }
  } finally {
    await s.close();
  }
});
