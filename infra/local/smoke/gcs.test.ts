import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import { Storage } from '@google-cloud/storage';
import { endpoints } from '@sightline/testkit';

// fake-gcs-server started by `pnpm infra:up fakegcs` (or docker compose). A custom apiEndpoint makes
// the client skip Google auth, which is what lets it talk to the emulator without credentials.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

test('fake-gcs-server: upload, list by prefix, download', { skip }, async () => {
  const storage = new Storage({ apiEndpoint: endpoints().gcsEndpoint, projectId: 'sightline-local' });
  const bucketName = `sightline-smoke-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const [bucket] = await storage.createBucket(bucketName);
  try {
    // GCP flow logs arrive as objects under a date prefix; one gzip-encoded, one plain.
    const prefix = 'compute.googleapis.com/vpc_flows/2026/04/16/';
    const plain = Buffer.from(`{"jsonPayload":{"connection":{"src_ip":"10.0.0.1"}}}\n`.repeat(200));
    const gz = gzipSync(plain);
    await bucket.file(`${prefix}a.json`).save(plain, { resumable: false, contentType: 'application/json' });
    await bucket.file(`${prefix}b.json.gz`).save(gz, { resumable: true, contentType: 'application/gzip' });
    await bucket.file('other/c.json').save(Buffer.from('{}'), { resumable: false });

    const [files] = await bucket.getFiles({ prefix });
    assert.deepEqual(files.map((f) => f.name).sort(), [`${prefix}a.json`, `${prefix}b.json.gz`]);
    const [meta] = await bucket.file(`${prefix}b.json.gz`).getMetadata();
    assert.equal(Number(meta.size), gz.length);

    const [gotPlain] = await bucket.file(`${prefix}a.json`).download();
    assert.ok(gotPlain.equals(plain), 'plain object round-trips byte for byte');
    const [gotGz] = await bucket.file(`${prefix}b.json.gz`).download({ decompress: false });
    assert.ok(gunzipSync(gotGz).equals(plain), 'gzip object round-trips');
    // A ranged read, as a reader resuming a large object would do.
    const [slice] = await bucket.file(`${prefix}a.json`).download({ start: 10, end: 19 });
    assert.ok(slice.equals(plain.subarray(10, 20)));
  } finally {
    await bucket.deleteFiles({ force: true });
    await bucket.delete();
  }
});
