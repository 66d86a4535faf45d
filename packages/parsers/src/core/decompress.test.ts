import { strict as assert } from 'node:assert';
import { createReadStream, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decompress, detectCompression } from './decompress.js';
import { ParseError } from '../types.js';

const file = (name: string): URL => new URL(`../testdata/aws/${name}`, import.meta.url);

async function collect(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* chunks(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

test('detects gzip by magic bytes only', () => {
  assert.equal(detectCompression(Uint8Array.of(0x1f, 0x8b, 8)), 'gzip');
  assert.equal(detectCompression(Uint8Array.of(0x1f)), 'none');
  assert.equal(detectCompression(Buffer.from('version account-id')), 'none');
});

test('plain input passes through unchanged, also from a Node Readable', async () => {
  const plain = readFileSync(file('default-v2.log'));
  assert.deepEqual(await collect(decompress(chunks(plain, 1))), plain);
  assert.deepEqual(await collect(decompress(createReadStream(file('default-v2.log')))), plain);
  assert.deepEqual(await collect(decompress(chunks(new Uint8Array(0), 1))), Buffer.alloc(0));
});

test('gzip and multi-member gzip inflate to the original, whatever the chunking', async () => {
  const plain = readFileSync(file('default-v2.log'));
  for (const name of ['default-v2.log.gz', 'default-v2-multimember.log.gz']) {
    const gz = readFileSync(file(name));
    assert.deepEqual(await collect(decompress(chunks(gz, 1))), plain, name);
    assert.deepEqual(await collect(decompress(createReadStream(file(name)))), plain, name);
  }
  // a member boundary inside a large stream, small zlib chunks
  const big = Buffer.alloc(3 * 1024 * 1024, 'abc\n');
  const two = Buffer.concat([gzipSync(big), gzipSync(big)]);
  const out = await collect(decompress(chunks(two, 100_000), { chunkSize: 16 * 1024 }));
  assert.equal(out.length, big.length * 2);
});

test('truncated or corrupt gzip is a ParseError naming the source and position', async () => {
  const gz = gzipSync(Buffer.alloc(1024 * 1024, 'version account-id\n'));
  await assert.rejects(collect(decompress(chunks(gz.subarray(0, gz.length - 10), 4096), { source: 'k.log.gz' })), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.match(e.message, /^k\.log\.gz: corrupt or truncated gzip data \(unexpected end of file\) after \d+ decompressed bytes/);
    return true;
  });
  const bad = Buffer.from(gz);
  bad.fill(0x55, 100, 200);
  await assert.rejects(collect(decompress(chunks(bad, 4096), { source: 'k.log.gz' })), /k\.log\.gz: corrupt or truncated gzip data/);
});

test('an error of the underlying source is passed on as is', async () => {
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield gzipSync(Buffer.from('x'.repeat(1000))).subarray(0, 10);
    throw new Error('connection reset');
  }
  await assert.rejects(collect(decompress(failing())), /connection reset/);
});

test('options are validated', async () => {
  await assert.rejects(collect(decompress(chunks(Buffer.from('x'), 1), { chunkSize: 10 })), /chunkSize/);
});
