import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { DuckDBStore, STORAGE_VERSION } from './duckdb-store.js';

// How the DuckDB store lays its raw rows on disk (bytes per flow, README "Bytes per flow on disk").
const dir = mkdtempSync(path.join(tmpdir(), 'sightline-storage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

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
