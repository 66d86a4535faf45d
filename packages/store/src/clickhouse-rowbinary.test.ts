import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colIndex, FlowBatch } from '@sightline/flow';
import { presentFields, rowBinaryBody } from './clickhouse-rowbinary.js';
import { metaFor } from './testdata/sample.js';

function twoRows(): FlowBatch {
  const b = new FlowBatch(2);
  b.strings(colIndex('src_addr'))[0] = '10.0.1.22';
  b.strings(colIndex('src_addr'))[1] = null;
  const bytes = b.numbers(colIndex('bytes'));
  bytes[0] = 2 ** 40 + 3;
  bytes[1] = NaN;
  const start = b.numbers(colIndex('start'));
  start[0] = 1_700_000_000_123.5;
  start[1] = 1_700_000_000_000;
  b.length = 2;
  return b;
}

test('rowbinary: only the columns some row has, in the stored order', () => {
  const names = presentFields([{ batch: twoRows() }]).map((f) => f.spec.name);
  assert.deepEqual([...names].sort(), ['bytes', 'src_addr', 'start']);
  const body = rowBinaryBody([{ meta: metaFor('acme', 'rb/1', 2), batch: twoRows(), secs: Float64Array.of(1_700_000_000, 1_700_000_000) }]);
  assert.equal(body.columns, ['tenant', 'batch_id', 'row_no', 'ts', ...names].map((n) => `\`${n}\``).join(', '));
  assert.equal(body.rows, 2);
});

test('rowbinary: the layout of a row (varint strings, null flags, little-endian Int64 and UInt32, times in microseconds)', () => {
  const meta = metaFor('acme', 'rb/2', 2);
  const { columns, body } = rowBinaryBody([{ meta, batch: twoRows(), secs: Float64Array.of(1_700_000_000, 1_700_000_001) }]);
  const order = columns.split(', ').slice(4).map((c) => c.replace(/`/g, ''));
  let p = 0;
  const str = (): string => { const n = body[p++]!; const s = body.subarray(p, p + n).toString('utf8'); p += n; return s; };
  for (let r = 0; r < 2; r++) {
    assert.equal(str(), 'acme');
    assert.equal(str(), meta.id);
    assert.equal(body.readUInt32LE(p), r); p += 4;
    assert.equal(body.readUInt32LE(p), 1_700_000_000 + r); p += 4;
    for (const c of order) {
      const isNull = body[p++] === 1;
      if (c === 'src_addr') assert.deepEqual(isNull ? null : str(), r === 0 ? '10.0.1.22' : null);
      if (c === 'bytes') {
        assert.equal(isNull, r === 1);
        if (!isNull) { assert.equal(body.readBigInt64LE(p), 2n ** 40n + 3n); p += 8; }
      }
      if (c === 'start') {
        assert.equal(isNull, false);
        assert.equal(body.readBigInt64LE(p), r === 0 ? 1_700_000_000_123_500n : 1_700_000_000_000_000n); p += 8;
      }
    }
  }
  assert.equal(p, body.length, 'nothing after the last row');
});

test('rowbinary: non-ASCII and long strings (UTF-8 bytes, multi-byte varint length)', () => {
  const b = new FlowBatch(1);
  const long = 'x'.repeat(300);
  b.strings(colIndex('src_k8s_pod'))[0] = 'café-0';
  b.strings(colIndex('dst_k8s_pod'))[0] = long;
  b.length = 1;
  const { columns, body } = rowBinaryBody([{ meta: metaFor('acme', 'rb/3', 1), batch: b, secs: Float64Array.of(1) }]);
  const order = columns.split(', ').slice(4).map((c) => c.replace(/`/g, ''));
  let p = 0;
  const varint = (): number => { let n = 0; let shift = 0; for (;;) { const x = body[p++]!; n |= (x & 0x7f) << shift; if (x < 0x80) return n; shift += 7; } };
  const str = (): string => { const n = varint(); const s = body.subarray(p, p + n).toString('utf8'); p += n; return s; };
  str(); str(); p += 8;
  const got: Record<string, string> = {};
  for (const c of order) { assert.equal(body[p++], 0, `${c} not null`); got[c] = str(); }
  assert.deepEqual(got, { src_k8s_pod: 'café-0', dst_k8s_pod: long });
  assert.equal(p, body.length);
});
