import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { DuckDBStore } from './duckdb-store.js';
import { storeContract } from './testdata/contract.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sightline-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => path.join(dir, `t${n++}.duckdb`);

async function openMigrated(file: string): Promise<DuckDBStore> {
  const s = await DuckDBStore.open({ path: file });
  await s.migrate();
  return s;
}

test('duckdb: first migrate applies every version, in order', async () => {
  const s = await DuckDBStore.open({ path: fresh() });
  try {
    assert.deepEqual(await s.migrate(), [1, 2, 3, 4, 5]);
    assert.deepEqual(await s.migrate(), []);
  } finally {
    await s.close();
  }
});

storeContract('duckdb', () => openMigrated(fresh()));

test('duckdb: two writers of the same batch in one process, on one file: exactly one writes it', async () => {
  const file = fresh();
  const a = await openMigrated(file);
  const b = await DuckDBStore.open({ path: file });
  try {
    assert.deepEqual(await b.migrate(), []);
    const T0 = Date.UTC(2024, 10, 26, 8);
    for (let k = 0; k < 5; k++) {
      const batch = enrichedBatch(5000, 200 + k, T0, 3_600_000);
      const meta = metaFor('acme', `race/${k}`, batch.length);
      const results = await Promise.all([a.writeBatch(meta, batch), b.writeBatch(meta, batch), a.writeBatch(meta, batch)]);
      assert.equal(results.filter((r) => r.written).length, 1, `batch ${k}: ${JSON.stringify(results)}`);
    }
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '5m', '1h'] as const) {
      assert.deepEqual((await b.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: 25_000 }], use);
    }
  } finally {
    await a.close();
    await b.close();
  }
});

test('duckdb: a failed write leaves neither rows nor a ledger entry', async () => {
  const s = await openMigrated(fresh());
  try {
    const T0 = Date.UTC(2024, 10, 26, 8);
    const batch = enrichedBatch(100, 300, T0, 60_000);
    const meta = metaFor('acme', 'fail/1', batch.length);
    // a port beyond BIGINT cannot be stored: the insert fails inside the transaction
    batch.numbers(batch.columns.findIndex((c, i) => i >= 0 && c !== undefined && c instanceof Float64Array))[5] = 1e300;
    await assert.rejects(s.writeBatch(meta, batch), /duckdb writeBatch [0-9a-f]{64} \(tenant acme, 100 rows\)/);
    assert.equal((await s.readBatch('acme', meta.id)).length, 0);
    batch.numbers(batch.columns.findIndex((c) => c instanceof Float64Array))[5] = 443;
    assert.deepEqual(await s.writeBatch(meta, batch), { written: true });
    assert.equal((await s.readBatch('acme', meta.id)).length, 100);
  } finally {
    await s.close();
  }
});
