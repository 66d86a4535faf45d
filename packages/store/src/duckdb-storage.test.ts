import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { batchDiff, colIndex } from '@sightline/flow';
import { DuckDBStore, STORAGE_VERSION } from './duckdb-store.js';
import { byFormat } from './duckdb-writer.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// How the DuckDB store lays its raw rows on disk (bytes per flow, README "Bytes per flow on disk").
const dir = mkdtempSync(path.join(tmpdir(), 'sightline-storage-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2024, 10, 26, 8);

const storageOf = (s: DuckDBStore): Promise<string> =>
  s.withConnection(async (c) =>
    String((await c.runAndReadAll("SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()")).getRows()[0]?.[0]),
  );

test('a store file created now uses DuckDB 1.5 storage (compressed validity); one created before keeps its format and rows', async () => {
  const s = await DuckDBStore.open({ path: path.join(dir, 'new.duckdb') });
  try {
    await s.migrate();
    // DuckDB's default for a new file is v1.0.0+ (one validity bit per row and column, uncompressed)
    assert.equal(await storageOf(s), `${STORAGE_VERSION}+`);
  } finally {
    await s.close();
  }
  const old = path.join(dir, 'v1.duckdb');
  writeFileSync(old, gunzipSync(readFileSync(new URL('testdata/v1/store.duckdb.gz', import.meta.url))));
  const o = await DuckDBStore.open({ path: old });
  try {
    await o.migrate();
    assert.equal(await storageOf(o), 'v1.0.0+');
    // every row the ledger recorded is still there (upgrade.test.ts checks them field by field)
    const [n, recorded] = await o.withConnection(async (c) => (await c.runAndReadAll('SELECT (SELECT count(*) FROM flows)::INTEGER, (SELECT sum(records) FROM batches)::INTEGER')).getRows()[0]!.map(Number));
    assert.ok(n! > 0);
    assert.equal(n, recorded);
  } finally {
    await o.close();
  }
});

test('one group of interleaved formats goes into flows format by format, each batch in its order and read back whole', async () => {
  const s = await DuckDBStore.open({ path: path.join(dir, 'order.duckdb') });
  await s.migrate();
  try {
    // six batches alternating between two formats (the synthetic rows relabelled as GCP for three)
    const batches = [0, 1, 2, 3, 4, 5].map((k) => {
      const b = enrichedBatch(1000, 700 + k, T0 + k * 60_000, 60_000);
      if (k % 2 === 1) {
        b.strings(colIndex('cloud')).fill('gcp', 0, b.length);
        b.strings(colIndex('format')).fill('gcp-vpc-json', 0, b.length);
      }
      return b;
    });
    // issued at once: written as one group
    const results = await Promise.all(batches.map((b, k) => s.writeBatch(metaFor('acme', `o/${k}`, b.length), b)));
    assert.deepEqual(results.map((r) => r.written), [true, true, true, true, true, true]);
    const runs = await s.withConnection(async (c) =>
      (await c.runAndReadAll('SELECT format, count(*)::INTEGER FROM (SELECT format, lag(format) OVER (ORDER BY rowid) AS prev FROM flows) WHERE prev IS DISTINCT FROM format GROUP BY format ORDER BY format')).getRows(),
    );
    // in arrival order there would be six runs
    assert.deepEqual(runs, [['aws-vpc-text', 1], ['gcp-vpc-json', 1]]);
    for (const [k, b] of batches.entries()) {
      const back = await s.readBatch('acme', metaFor('acme', `o/${k}`, b.length).id);
      assert.equal(batchDiff(back, b), null, `batch ${k}`);
    }
  } finally {
    await s.close();
  }
});

test('byFormat keeps arrival order among the batches of a format and the formats in the order they first came', () => {
  const tag = (cloud: string, format: string, id: number) => {
    const b = enrichedBatch(2, id, T0, 1000);
    b.strings(colIndex('cloud')).fill(cloud, 0, b.length);
    b.strings(colIndex('format')).fill(format, 0, b.length);
    return { id, batch: b };
  };
  const empty = enrichedBatch(1, 9, T0, 1000);
  empty.length = 0;
  const items = [tag('azure', 'azure-vnet', 1), tag('aws', 'aws-vpc-text', 2), tag('azure', 'azure-vnet', 3), { id: 4, batch: empty }, tag('aws', 'aws-tgw', 5), tag('aws', 'aws-vpc-text', 6)];
  assert.deepEqual(byFormat(items).map((i) => i.id), [1, 3, 2, 6, 4, 5]);
});
