import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CloudError } from './types.js';
import { localSource } from './local.js';

const SAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../samples');
const ROOTS = ['eks/AWSLogs', 'gke/compute.googleapis.com', 'aks/insights-logs-flowlogflowevent'].map((r) => path.join(SAMPLES, r));

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('local source: the samples listed in key order, each with its cloud from its content, its sha256 as version and its bytes read back', async () => {
  const s = localSource({ tenant: 'demo', roots: ROOTS, base: SAMPLES }, { accountOf: (key, cloud) => (cloud === 'aws' ? /AWSLogs\/(\d{12})\//.exec(key)?.[1] ?? null : null) });
  const refs = await all(s.list());
  assert.equal(refs.length, 16);
  assert.deepEqual(refs.map((r) => r.key), [...refs.map((r) => r.key)].sort());
  const clouds = new Map(refs.map((r) => [r.key.split('/')[0], r.cloud]));
  assert.deepEqual(Object.fromEntries(clouds), { aks: 'azure', eks: 'aws', gke: 'gcp' });
  for (const r of refs) {
    const bytes = fs.readFileSync(path.join(SAMPLES, r.key));
    assert.equal(r.version, createHash('sha256').update(bytes).digest('hex'), r.key);
    assert.equal(r.size, bytes.length);
    assert.equal(r.bucket, 'files');
    assert.equal(r.account, r.cloud === 'aws' ? '123456789012' : 'unknown', r.key);
    const read = Buffer.concat(await all((await s.reader.open(r)) as AsyncIterable<Buffer>));
    assert.ok(read.equals(bytes), `${r.key}: the reader's bytes are the file's`);
  }
  const parquet = refs.find((r) => r.key.endsWith('.parquet'));
  if (parquet) {
    const ra = await s.reader.randomAccess(parquet);
    assert.equal(ra.size, parquet.size);
    await ra.close?.();
  }
});

test('local source: a poll from a cursor lists only the keys after it; a file gone before it is read is not-found', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-source-'));
  try {
    for (const n of ['a.log', 'b.log', 'c.log']) fs.writeFileSync(path.join(dir, n), 'not a flow log\n');
    fs.writeFileSync(path.join(dir, 'README.md'), 'not an object');
    const s = localSource({ tenant: 't', roots: [dir], cloud: 'gcp', account: 'p1' });
    const first = await all(s.discovery.poll(undefined));
    assert.deepEqual(first.map((x) => x.ref.key), ['a.log', 'b.log', 'c.log']);
    assert.deepEqual(first.map((x) => [x.ref.cloud, x.ref.account]), [['gcp', 'p1'], ['gcp', 'p1'], ['gcp', 'p1']]);
    const next = await all(s.discovery.poll(first[1]!.cursor));
    assert.deepEqual(next.map((x) => x.ref.key), ['c.log']);
    fs.rmSync(path.join(dir, 'c.log'));
    await assert.rejects(s.reader.open(next[0]!.ref), (e: unknown) => e instanceof CloudError && e.kind === 'not-found' && e.message.includes('files/c.log'));
    assert.throws(() => localSource({ tenant: 't', roots: [] }), /no folder or file/);
    await assert.rejects(all(localSource({ tenant: 't', roots: [path.join(dir, 'nope')] }).list()), (e: unknown) => e instanceof Error && e.message === `local source ${path.join(dir, 'nope')}: no such file or folder`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
