import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { colIndex } from '@sightline/flow';
import { DuckDBStore } from './duckdb-store.js';
import { metaFor, sampleBatch } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sightline-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2024, 10, 26, 8);

test('group commit: batches written together, with different column sets, a repeat and a bad batch among them', async () => {
  const s = await DuckDBStore.open({ path: path.join(dir, 'group.duckdb') });
  await s.migrate();
  try {
    const synth = [0, 1, 2, 3].map((k) => enrichedBatch(3000, 500 + k, T0, 3_600_000));
    const sample = sampleBatch(); // every cloud's fields, extras: another column set
    const bad = enrichedBatch(50, 600, T0, 60_000);
    bad.numbers(colIndex('dst_port'))[7] = 1e300; // beyond BIGINT: fails inside the transaction
    const empty = enrichedBatch(1, 601, T0, 60_000); // the synthetic column set, no rows
    empty.length = 0;
    const items = [
      { meta: metaFor('acme', 'g/empty', 0), batch: empty }, // first of its column set, stages nothing
      { meta: metaFor('acme', 'g/0', 3000), batch: synth[0]! },
      { meta: metaFor('acme', 'g/sample', sample.length), batch: sample },
      { meta: metaFor('acme', 'g/1', 3000), batch: synth[1]! },
      { meta: metaFor('acme', 'g/bad', 50), batch: bad },
      { meta: metaFor('acme', 'g/0', 3000), batch: synth[0]! }, // the same batch again, in the same group
      { meta: metaFor('other', 'g/2', 3000), batch: synth[2]! },
      { meta: metaFor('acme', 'g/3', 3000), batch: synth[3]! },
    ];
    // all issued at once: they queue behind the first and are written as one group
    const results = await Promise.allSettled(items.map((i) => s.writeBatch(i.meta, i.batch)));
    const outcome = results.map((r) => (r.status === 'fulfilled' ? r.value.written : 'failed'));
    assert.deepEqual(outcome, [true, true, true, true, 'failed', false, true, true]);
    const failure = results[4] as PromiseRejectedResult;
    assert.match(String(failure.reason), /duckdb writeBatch [0-9a-f]{64} \(tenant acme, 50 rows\)/);

    for (const [i, it] of items.entries()) {
      const back = await s.readBatch(it.meta.tenant, it.meta.id);
      assert.equal(back.length, i === 4 ? 0 : it.batch.length, `batch ${i} rows`);
    }
    const back = await s.readBatch('acme', items[2]!.meta.id);
    assert.deepEqual(back.extra?.filter((x) => x !== null), sample.extra?.filter((x) => x !== null && x !== undefined));
    // every table counts each written flow once, per tenant
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '5m', '1h'] as const) {
      assert.deepEqual((await s.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: 9000 }], `acme ${use}`);
      assert.deepEqual((await s.timeSeries('other', { ...q, use })).points, [{ t: T0, value: 3000 }], `other ${use}`);
    }
  } finally {
    await s.close();
  }
});

test('close writes what was queued before it', async () => {
  const file = path.join(dir, 'close.duckdb');
  const s = await DuckDBStore.open({ path: file, maxGroupRows: 1000 });
  await s.migrate();
  const batches = [0, 1, 2, 3, 4].map((k) => enrichedBatch(800, 700 + k, T0, 60_000));
  const writes = batches.map((b, k) => s.writeBatch(metaFor('acme', `c/${k}`, b.length), b));
  await s.close();
  assert.deepEqual(await Promise.all(writes), batches.map(() => ({ written: true })));
  const again = await DuckDBStore.open({ path: file });
  try {
    for (let k = 0; k < batches.length; k++) assert.equal((await again.readBatch('acme', metaFor('acme', `c/${k}`, 800).id)).length, 800);
  } finally {
    await again.close();
  }
});

test('group commit: an empty batch first in its column set does not stage the others twice', async () => {
  const s = await DuckDBStore.open({ path: path.join(dir, 'empty.duckdb') });
  await s.migrate();
  try {
    const empty = enrichedBatch(1, 801, T0, 60_000); // the synthetic column set, no rows
    empty.length = 0;
    const full = [0, 1].map((k) => enrichedBatch(1000, 802 + k, T0, 3_600_000));
    const results = await Promise.all([
      s.writeBatch(metaFor('acme', 'e/empty', 0), empty),
      ...full.map((b, k) => s.writeBatch(metaFor('acme', `e/${k}`, b.length), b)),
    ]);
    assert.deepEqual(results, [{ written: true }, { written: true }, { written: true }]);
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '5m', '1h'] as const) assert.deepEqual((await s.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: 2000 }], use);
  } finally {
    await s.close();
  }
});

test('a group failing after its raw rows were appended leaves none of them behind', async () => {
  const s = await DuckDBStore.open({ path: path.join(dir, 'mid-append.duckdb') });
  await s.migrate();
  try {
    // tcp_flags is not a rollup key: the rollup keys stage fine, and the raw append fails in the
    // transaction, in the second batch's second chunk, with the first batch's rows appended
    const good = enrichedBatch(5000, 901, T0, 3_600_000);
    const bad = enrichedBatch(5000, 902, T0, 3_600_000);
    bad.numbers(colIndex('tcp_flags'))[3000] = 1e300;
    const results = await Promise.allSettled([
      s.writeBatch(metaFor('acme', 'm/good', 5000), good),
      s.writeBatch(metaFor('acme', 'm/bad', 5000), bad),
    ]);
    assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value.written : 'failed')), [true, 'failed']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /out of the BIGINT range/);
    assert.equal((await s.readBatch('acme', metaFor('acme', 'm/good', 5000).id)).length, 5000);
    assert.equal((await s.readBatch('acme', metaFor('acme', 'm/bad', 5000).id)).length, 0);
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '5m', '1h'] as const) assert.deepEqual((await s.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: 5000 }], use);
    // the writer goes on after the failure
    bad.numbers(colIndex('tcp_flags'))[3000] = 2;
    assert.deepEqual(await s.writeBatch(metaFor('acme', 'm/bad', 5000), bad), { written: true });
    assert.deepEqual((await s.timeSeries('acme', { ...q, use: 'raw' })).points, [{ t: T0, value: 10000 }]);
  } finally {
    await s.close();
  }
});
