import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { clickhouseMigrations } from './clickhouse-schema.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { storeContract } from './testdata/contract.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// Against the real local ClickHouse (`pnpm infra:up`); one database per store, all dropped at the end.
const url = endpoints().clickhouseUrl;
const run = `sightline_test_${randomBytes(4).toString('hex')}`;
const databases: string[] = [];
let n = 0;

after(async () => {
  const c = createClient({ url });
  for (const db of databases) await c.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await c.close();
});

async function openMigrated(database = `${run}_${n++}`): Promise<ClickHouseStore> {
  databases.push(database);
  const s = ClickHouseStore.open({ url, database });
  await s.migrate();
  return s;
}

test('clickhouse: first migrate applies every version; the DDL follows the server version', async () => {
  const database = `${run}_${n++}`;
  databases.push(database);
  const s = ClickHouseStore.open({ url, database });
  try {
    const ft = await s.features();
    assert.deepEqual(await s.migrate(), clickhouseMigrations(database, ft).map((m) => m.version));
    assert.deepEqual(await s.migrate(), []);
    const rs = await s.client.query({
      query: `SELECT name, type FROM system.columns WHERE database = '${database}' AND table = 'flows' AND name IN ('start', 'src_k8s_namespace')`,
      format: 'JSONEachRow',
    });
    const types = Object.fromEntries((await rs.json<{ name: string; type: string }>()).map((r) => [r.name, r.type]));
    assert.equal(types.start, ft.dateTime64 ? "Nullable(DateTime64(6, 'UTC'))" : 'Nullable(Int64)');
    assert.equal(types.src_k8s_namespace, ft.lowCardinality ? 'LowCardinality(Nullable(String))' : 'Nullable(String)');
  } finally {
    await s.close();
  }
});

storeContract('clickhouse', () => openMigrated());

test('clickhouse: LowCardinality by default only where it is a stable type; on request where the server allows it', async () => {
  const types = async (lowCardinality: boolean | undefined): Promise<{ type: string; ft: Awaited<ReturnType<ClickHouseStore['features']>> }> => {
    const database = `${run}_${n++}`;
    databases.push(database);
    const s = ClickHouseStore.open({ url, database, ...(lowCardinality === undefined ? {} : { lowCardinality }) });
    try {
      await s.migrate();
      const rs = await s.client.query({
        query: `SELECT type FROM system.columns WHERE database = '${database}' AND table = 'flows' AND name = 'dst_k8s_workload'`,
        format: 'JSONEachRow',
      });
      return { type: (await rs.json<{ type: string }>())[0]?.type ?? '', ft: await s.features() };
    } finally {
      await s.close();
    }
  };
  const auto = await types(undefined);
  const stable = !auto.ft.version.startsWith('18.');
  assert.equal(auto.type, stable ? 'LowCardinality(Nullable(String))' : 'Nullable(String)', `server ${auto.ft.version}`);
  assert.equal((await types(false)).type, 'Nullable(String)');
  const on = await types(true);
  assert.equal(on.type, on.ft.lowCardinality ? 'LowCardinality(Nullable(String))' : 'Nullable(String)');
  if (auto.ft.version.startsWith('18.16')) assert.equal(on.ft.lowCardinality, true, 'the local 18.16 server allows the experimental type');
});

test('clickhouse: rows that landed without their ledger entry (crash in between) are not written again', async () => {
  const s = await openMigrated();
  try {
    const ft = await s.features();
    const T0 = Date.UTC(2024, 10, 26, 8);
    const b = enrichedBatch(1500, 400, T0, 3_600_000);
    const meta = metaFor('acme', 'crash/1', b.length);
    assert.deepEqual(await s.writeBatch(meta, b), { written: true });
    // simulate the crash: the ledger entry is gone, the rows are there
    const db = databases.at(-1)!;
    await s.client.command({ query: `ALTER TABLE ${db}.batches DELETE WHERE batch_id = '${meta.id}'` });
    for (let i = 0; i < 100; i++) {
      const rs = await s.client.query({ query: `SELECT count() AS n FROM ${db}.batches`, format: 'JSONEachRow' });
      if (Number((await rs.json<{ n: string }>())[0]?.n) === 0) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.deepEqual(await s.writeBatch(meta, b), { written: false }, `server ${ft.version}`);
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '1h'] as const) assert.deepEqual((await s.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: 1500 }], use);
  } finally {
    await s.close();
  }
});

test('clickhouse: writeBatches writes several batches in one insert, each id once, rollups exact', async () => {
  const s = await openMigrated();
  try {
    const T0 = Date.UTC(2024, 10, 26, 8);
    const bs = [0, 1, 2, 3].map((k) => enrichedBatch(700 + k * 100, 2000 + k, T0 + k * 60_000, 600_000));
    const metas = bs.map((b, k) => metaFor('acme', `many/${k}`, b.length));
    // batch 0 was written before; batch 2 is given twice in the call
    assert.deepEqual(await s.writeBatch(metas[0]!, bs[0]!), { written: true });
    const res = await s.writeBatches([0, 1, 2, 2, 3].map((k) => ({ meta: metas[k]!, batch: bs[k]! })));
    assert.deepEqual(res.map((r) => r.written), [false, true, true, false, true]);
    const total = bs.reduce((a, b) => a + b.length, 0);
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '5m', '1h'] as const) assert.deepEqual((await s.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: total }], use);
    const bytes = await s.timeSeries('acme', { ...q, metric: 'bytes', use: 'raw' });
    assert.deepEqual((await s.timeSeries('acme', { ...q, metric: 'bytes', use: '1m' })).points, bytes.points, 'bytes rollup = raw');
    for (const k of [1, 2, 3]) {
      const back = await s.readBatch('acme', metas[k]!.id);
      assert.equal(back.length, bs[k]!.length, `batch ${k} rows`);
      assert.deepEqual(back.row(17), bs[k]!.row(17), `batch ${k} row 17 round trip`);
    }
    // the ledger answers for all of them in the next call, and an empty call writes nothing
    assert.deepEqual((await s.writeBatches(metas.map((meta, k) => ({ meta, batch: bs[k]! })))).map((r) => r.written), [false, false, false, false]);
    assert.deepEqual(await s.writeBatches([]), []);
  } finally {
    await s.close();
  }
});
