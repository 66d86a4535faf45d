import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordsScanner } from './azure-records.js';
import { ParseError } from '../../types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Seen {
  records: [string, number][];
  issues: [string, number, string][];
}

function scan(chunks: Uint8Array[], maxRecordBytes?: number): Seen {
  const seen: Seen = { records: [], issues: [] };
  const s = new RecordsScanner(
    'blob',
    (bytes, offset) => seen.records.push([dec.decode(bytes), offset]),
    (kind, offset, message) => seen.issues.push([kind, offset, message]),
    maxRecordBytes === undefined ? {} : { maxRecordBytes },
  );
  for (const c of chunks) s.push(c);
  s.end();
  return seen;
}

const splits = (text: string, step = 1): Uint8Array[][] => {
  const all = enc.encode(text);
  const out: Uint8Array[][] = [];
  for (let a = 0; a <= all.length; a += step) out.push([all.subarray(0, a), all.subarray(a)]);
  out.push(Array.from(all, (b) => Uint8Array.of(b)));
  return out;
};

test('records with tricky strings come out whole, at their offsets, however the bytes are chunked', () => {
  const r1 = '{"a":"x}]\\"{[","b":[1,{"c":"\\\\"}]}';
  const r2 = '{"t":"\\\\\\"}"}';
  const text = `\uFEFF { "records" : [${r1}\n ,\n,${r2} ,] }\n`;
  const want = scan([enc.encode(text)]);
  assert.deepEqual(want.records.map((r) => r[0]), [r1, r2]);
  assert.equal(want.records[0]![1], enc.encode(text).indexOf(0x5b) + 1);
  assert.deepEqual(want.issues, []);
  for (const chunks of splits(text)) assert.deepEqual(scan(chunks), want);
});

test('block layout of a growing PT1H.json: head, records with leading commas, tail', () => {
  const got = scan([enc.encode('{"records":['), enc.encode('{"n":1}'), enc.encode(',{"n":2}'), enc.encode(',{"n":3}'), enc.encode(']}')]);
  assert.deepEqual(got.records.map((r) => r[0]), ['{"n":1}', '{"n":2}', '{"n":3}']);
  assert.deepEqual(got.issues, []);
});

test('a prefix without ]} yields every complete record and reports the tail as incomplete', () => {
  const text = '{"records":[{"n":1},{"n":2},{"n":"thr';
  for (const chunks of splits(text)) {
    const got = scan(chunks);
    assert.deepEqual(got.records.map((r) => r[0]), ['{"n":1}', '{"n":2}']);
    assert.deepEqual(got.issues.map((i) => [i[0], i[1]]), [['incomplete', 28]]);
  }
  const between = scan([enc.encode('{"records":[{"n":1},')]);
  assert.deepEqual(between.issues.map((i) => i[0]), ['incomplete']);
  assert.equal(between.records.length, 1);
});

test('a nested "records" array and garbage are reported once each and the records around them are kept', () => {
  const got = scan([enc.encode('{"records":[{"n":1},\n\t"records":\n\t[\n\t{"n":2}\n,\n...\n{"n":3}]]}')]);
  assert.deepEqual(got.records.map((r) => r[0]), ['{"n":1}', '{"n":2}', '{"n":3}']);
  assert.deepEqual(got.issues.map((i) => [i[0], i[1]]), [['error', 22], ['error', 47]]);
  assert.match(got.issues[0]![2], /second "records" array/);
});

test('an over-long record is skipped without buffering it, the next one survives', () => {
  const big = `{"x":"${'y'.repeat(5000)}"}`;
  const text = `{"records":[${big},{"n":2}]}`;
  for (const chunks of splits(text, 997)) {
    const got = scan(chunks, 1000);
    assert.deepEqual(got.records.map((r) => r[0]), ['{"n":2}']);
    assert.deepEqual(got.issues.map((i) => [i[0], i[1]]), [['error', 12]]);
    assert.match(got.issues[0]![2], new RegExp(`record of ${big.length} bytes exceeds the 1000-byte limit`));
  }
});

test('empty input, another JSON document and trailing bytes', () => {
  assert.throws(() => scan([]), (e: unknown) => e instanceof ParseError && /empty input/.test(e.message));
  assert.throws(() => scan([enc.encode('{"value":[]}')]), (e: unknown) => e instanceof ParseError && /not an Azure flow log/.test(e.message) && (e as ParseError).offset === 2);
  assert.throws(() => scan([enc.encode('2 123456789010 eni-1 ...')]), ParseError);
  assert.throws(() => scan([enc.encode('{"reco')]), ParseError);
  const trailing = scan([enc.encode('{"records":[{"n":1}]}xx{')]);
  assert.equal(trailing.records.length, 1);
  assert.deepEqual(trailing.issues.map((i) => [i[0], i[1]]), [['error', 21]]);
});
