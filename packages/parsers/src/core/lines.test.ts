import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, readLines, type Line } from './lines.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function split(chunks: Uint8Array[], maxLineBytes?: number): Line[] {
  const out: Line[] = [];
  const s = new LineSplitter(
    (buf, start, end, line, offset, terminated) => out.push({ bytes: buf.slice(start, end), line, offset, terminated }),
    (line, offset, length, head, terminated) => out.push({ bytes: head, line, offset, terminated, overlongLength: length }),
    maxLineBytes === undefined ? {} : { maxLineBytes, keepBytes: 4 },
  );
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

const text = 'alpha\r\nbeta\n\ngamma é\nlast';

test('lines carry 1-based numbers, byte offsets and lose their CR', () => {
  const lines = split([enc.encode(text)]);
  assert.deepEqual(
    lines.map((l) => [dec.decode(l.bytes), l.line, l.offset, l.terminated]),
    [
      ['alpha', 1, 0, true],
      ['beta', 2, 7, true],
      ['', 3, 12, true],
      ['gamma é', 4, 13, true],
      ['last', 5, 22, false],
    ],
  );
});

test('every split of the input into two or three chunks gives the same lines', () => {
  const all = enc.encode(text);
  const want = JSON.stringify(split([all]).map((l) => [dec.decode(l.bytes), l.line, l.offset, l.terminated]));
  for (let a = 0; a <= all.length; a++) {
    for (let b = a; b <= all.length; b++) {
      const got = split([all.subarray(0, a), all.subarray(a, b), all.subarray(b)]);
      assert.equal(JSON.stringify(got.map((l) => [dec.decode(l.bytes), l.line, l.offset, l.terminated])), want, `split at ${a},${b}`);
    }
  }
});

test('an over-long line is reported with its length and head, the next line survives', () => {
  const long = 'x'.repeat(100);
  for (const chunks of [[enc.encode(`ok\n${long}\nafter\n`)], [enc.encode(`ok\n${long.slice(0, 30)}`), enc.encode(`${long.slice(30)}\nafter\n`)]]) {
    const lines = split(chunks, 20);
    assert.equal(lines.length, 3);
    assert.equal(dec.decode(lines[0]!.bytes), 'ok');
    assert.equal(lines[1]!.overlongLength, 100);
    assert.equal(dec.decode(lines[1]!.bytes), 'xxxx');
    assert.equal(lines[1]!.line, 2);
    assert.equal(lines[1]!.offset, 3);
    assert.deepEqual([dec.decode(lines[2]!.bytes), lines[2]!.line, lines[2]!.offset], ['after', 3, 104]);
  }
});

test('a 10 MB line fed in 64 KiB chunks is skipped without being buffered', () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < 160; i++) chunks.push(chunk);
  chunks.push(enc.encode('\nnext\n'));
  const lines = split(chunks, 1024 * 1024);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.overlongLength, 160 * 64 * 1024);
  assert.equal(lines[0]!.bytes.length, 4);
  assert.equal(dec.decode(lines[1]!.bytes), 'next');
  assert.equal(lines[1]!.offset, 160 * 64 * 1024 + 1);
});

test('readLines yields the same lines from an async source', async () => {
  async function* src() {
    yield enc.encode('a\nb');
    yield enc.encode('c\n');
  }
  const got: string[] = [];
  for await (const group of readLines(src())) for (const l of group) got.push(`${l.line}:${dec.decode(l.bytes)}`);
  assert.deepEqual(got, ['1:a', '2:bc']);
});
