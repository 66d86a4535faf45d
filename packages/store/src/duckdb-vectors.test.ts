import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BIGINT, DOUBLE, DuckDBDataChunk, DuckDBInstance, INTEGER, TIMESTAMP, VARCHAR } from '@duckdb/node-api';
import { CHUNK_ROWS, vectorOf, writeConstantString, writeDoubles, writeInt32s, writeInt64s, writeNulls, writeStrings } from './duckdb-vectors.js';

// What DuckDB reads back is what was written: the chunks are appended to a real table and selected.
test('duckdb-vectors: strings (inline, long, non-ASCII, repeated, null), integers, doubles and times read back as written', async () => {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    await conn.run('CREATE TABLE t (s VARCHAR, c VARCHAR, i BIGINT, d DOUBLE, ts TIMESTAMP, n INTEGER, z VARCHAR)');
    const rows = CHUNK_ROWS + 77; // two chunks: the second starts mid-array
    const pool = ['', 'a', '10.0.12.123', 'exactly12chr', 'thirteen-char', 'café', '日本語のラベル', 'x'.repeat(300), 'a\u0000b', '😀'];
    const strings = Array.from({ length: rows }, (_, i) => (i % 11 === 10 ? null : pool[(i * 7) % pool.length]!));
    const ints = new Float64Array(rows).map((_, i) => (i % 13 === 0 ? NaN : [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, 2 ** 53 - 1, -(2 ** 53) + 1, 4_000_000_123][i % 8]!));
    const doubles = new Float64Array(rows).map((_, i) => (i % 5 === 0 ? NaN : i / 3));
    const times = new Float64Array(rows).map((_, i) => 1_773_144_000_000 + i * 1.5);
    const appender = await conn.createAppender('t');
    for (let start = 0; start < rows; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows - start);
      const chunk = DuckDBDataChunk.create([VARCHAR, VARCHAR, BIGINT, DOUBLE, TIMESTAMP, INTEGER, VARCHAR], n);
      writeStrings(vectorOf(chunk, 0), n, (i) => strings[start + i]);
      writeConstantString(vectorOf(chunk, 1), n, `batch-${start}-with-a-long-id`);
      writeInt64s(vectorOf(chunk, 2), ints, start, n);
      writeDoubles(vectorOf(chunk, 3), doubles, start, n);
      writeInt64s(vectorOf(chunk, 4), times, start, n, 1000);
      writeInt32s(vectorOf(chunk, 5), n, (i) => start + i);
      writeNulls(vectorOf(chunk, 6), n);
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
    appender.closeSync();
    const back = (await conn.runAndReadAll('SELECT s, c, i, d, epoch_us(ts), n, z FROM t ORDER BY n')).getRowsJS();
    assert.equal(back.length, rows);
    for (let r = 0; r < rows; r++) {
      const [s, c, i, d, us, n, z] = back[r]!;
      assert.equal(s, strings[r], `s row ${r}`);
      assert.equal(c, `batch-${r < CHUNK_ROWS ? 0 : CHUNK_ROWS}-with-a-long-id`);
      assert.equal(i === null ? null : Number(i), Number.isNaN(ints[r]!) ? null : ints[r], `i row ${r}`);
      assert.equal(d, Number.isNaN(doubles[r]!) ? null : doubles[r], `d row ${r}`);
      assert.equal(Number(us), Math.round(times[r]! * 1000), `ts row ${r}`);
      assert.equal(n, r);
      assert.equal(z, null);
    }
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
});

test('duckdb-vectors: a value beyond BIGINT is an error naming it, not a wrapped number', async () => {
  const chunk = DuckDBDataChunk.create([BIGINT], 3);
  assert.throws(() => writeInt64s(vectorOf(chunk, 0), new Float64Array([1, 1e300, 2]), 0, 3), /1e\+300 is out of the BIGINT range \(row 1\)/);
  assert.throws(() => writeInt64s(vectorOf(chunk, 0), new Float64Array([2 ** 63]), 0, 1), /out of the BIGINT range/);
  assert.throws(() => writeInt64s(vectorOf(chunk, 0), new Float64Array([Infinity]), 0, 1), /out of the BIGINT range/);
});
