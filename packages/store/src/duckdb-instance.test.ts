import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DuckDBStore, DuckDBStoreConfigSchema } from './duckdb-store.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// A second store on a file opens after a garbage collection: before the store held its
// instance, fromCache spun forever once the first instance's JS handle was collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('duckdb: a second store on the same file opens after the first instance handle could be collected', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sightline-store-gc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'a.duckdb');
  const a = await DuckDBStore.open({ path: file });
  await a.migrate();
  const T0 = Date.UTC(2024, 10, 26, 8);
  const batch = enrichedBatch(500, 1, T0, 3_600_000);
  await a.writeBatch(metaFor('acme', 'gc/1', batch.length), batch);
  gc();
  await new Promise((r) => setTimeout(r, 50));
  gc();
  const b = await DuckDBStore.open({ path: file });
  try {
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    assert.deepEqual((await b.timeSeries('acme', q)).points, [{ t: T0, value: 500 }]);
  } finally {
    await b.close();
    await a.close();
  }
});

test('duckdb: memoryLimit bounds the buffer memory of the database', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sightline-store-mem-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = await DuckDBStore.open({ path: path.join(dir, 'm.duckdb'), memoryLimit: '512MB' });
  try {
    const limit = await s.withConnection(async (c) => String((await c.runAndReadAll("SELECT current_setting('memory_limit')")).getRowsJS()[0]![0]));
    // DuckDB reports it in binary units: 512 MB = 488.2 MiB
    assert.match(limit, /^488\.\d MiB$/);
  } finally {
    await s.close();
  }
  assert.throws(() => DuckDBStoreConfigSchema.parse({ path: 'x', memoryLimit: 'lots' }), /a size such as 1GB/);
});
