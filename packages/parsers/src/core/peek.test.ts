import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peek } from './peek.js';

async function* chunks(parts: string[]) {
  for (const p of parts) yield Buffer.from(p);
}

async function collect(s: AsyncIterable<Uint8Array>): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(Buffer.from(c));
  return Buffer.concat(out).toString();
}

test('peek returns a head of at least n bytes and replays every byte', async () => {
  const { head, stream } = await peek(chunks(['ab', 'cd', 'ef', 'gh']), 3);
  assert.equal(head.toString(), 'abcd');
  assert.equal(await collect(stream), 'abcdefgh');
});

test('peek on a short or empty stream returns what there is', async () => {
  const short = await peek(chunks(['xy']), 10);
  assert.equal(short.head.toString(), 'xy');
  assert.equal(await collect(short.stream), 'xy');
  const empty = await peek(chunks([]), 10);
  assert.equal(empty.head.length, 0);
  assert.equal(await collect(empty.stream), '');
});
