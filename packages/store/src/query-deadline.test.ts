import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openStore } from './open-store.js';
import type { DuckDBStore } from './duckdb-store.js';
import type { FlowStore, TopNQuery } from './store.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// Each engine honours a read's deadline itself (QueryOptions): here DuckDB, whose store interrupts
// its own connection. (ClickHouse: max_execution_time and KILL QUERY by the read's id, see
// services/api query-clickhouse.test.ts.)
const dir = mkdtempSync(path.join(tmpdir(), 'sightline-deadline-'));
const T0 = Date.UTC(2025, 2, 10);
let store: DuckDBStore;
// a raw grouping over derived keys (regular expressions per row): far longer than the limits below
const heavy: TopNQuery = { from: T0, to: T0 + 3_600_000, use: 'raw', dimensions: ['net_subnet', 'net_network', 'src_addr', 'dst_addr', 'src_port'], n: 10_000 };

before(async () => {
  store = await openStore({ engine: 'duckdb', path: path.join(dir, 'd.duckdb') }, { migrate: true });
  for (let i = 0; i < 4; i++) await store.writeBatch(metaFor('acme', `b${i}`, 50_000, i), enrichedBatch(50_000, i, T0, 3_600_000));
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('duckdb: a read past its timeoutMs is interrupted with an error naming the limit, and the store answers the next read', async () => {
  const s: FlowStore = store;
  await assert.rejects(s.topN('acme', heavy, { timeoutMs: 1 }), /did not finish within its time limit of 1 ms/);
  const ok = await s.topN('acme', { ...heavy, dimensions: ['src_port'], n: 1 });
  assert.equal(ok.rows.length, 1);
});

test('duckdb: a read whose signal aborts is interrupted mid-statement; one aborted before it starts never runs', async () => {
  const s: FlowStore = store;
  const ac = new AbortController();
  const read = s.aggregate('acme', heavy, { signal: ac.signal });
  setImmediate(() => ac.abort(new Error('client gone')));
  await assert.rejects(read, /interrupt/i);
  await assert.rejects(s.timeSeries('acme', { from: T0, to: T0 + 3_600_000, stepSeconds: 60 }, { signal: AbortSignal.abort(new Error('gone already')) }), /gone already/);
  const ok = await s.timeSeries('acme', { from: T0, to: T0 + 3_600_000, stepSeconds: 3600 });
  assert.equal(ok.points.length, 1);
});
