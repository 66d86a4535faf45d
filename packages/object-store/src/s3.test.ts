import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
import { endpoints, fixturePath } from '@sightline/testkit';
import { dayPrefixes, parseWindowCursor, type WindowCursor } from './listing-window.js';
import { S3Reader, s3FlowLogBase, s3Source } from './s3.js';
import { CloudError, type ObjectRef } from './types.js';
import { ACCOUNT, DUMMY_SECRET, REGION, awsConfig, put, skipInfra as skip, withBucket } from './testing/moto.js';

const sample = fixturePath('parsers', 'aws/default-v2.log.gz');
const parquet = fixturePath('parsers', 'aws/aws-v5.gzip.parquet');

async function pollAll<C>(d: { poll(c: C | undefined): AsyncIterable<{ ref: ObjectRef; cursor: C }> }, cursor: C | undefined) {
  const refs: ObjectRef[] = [];
  let last = cursor;
  for await (const u of d.poll(cursor)) {
    refs.push(u.ref);
    last = u.cursor;
  }
  // The collector persists cursors as JSON: what comes back must be what went in.
  return { refs, cursor: last === undefined ? undefined : (parseWindowCursor(JSON.parse(JSON.stringify(last)), 'test') as C) };
}

const streamBytes = async (s: AsyncIterable<Buffer>) => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c);
  return Buffer.concat(parts);
};

test('S3 list polling: flow-log objects after the cursor only, including names that sort before the last key', { skip }, async () => {
  await withBucket(async (bucket, admin) => {
    const c = awsConfig(bucket);
    const { discovery, reader } = s3Source(c);
    const today = dayPrefixes(s3FlowLogBase(c), 'plain', Date.now(), Date.now())[0]!;
    assert.equal(today.slice(0, `AWSLogs/${ACCOUNT}/vpcflowlogs/${REGION}/`.length), `AWSLogs/${ACCOUNT}/vpcflowlogs/${REGION}/`);
    const name = (fl: string, t: string, hash: string) => `${today}${ACCOUNT}_vpcflowlogs_${REGION}_${fl}_${t}_${hash}.log.gz`;
    const body = await readFile(sample);

    const k1 = name('fl-0bbb', '20260416T1000Z', 'c0ffee01');
    const k2 = name('fl-0bbb', '20260416T1005Z', 'c0ffee02');
    await put(admin, bucket, k1, body);
    await put(admin, bucket, k2, body);
    // Not flow logs of this account/region: ignored.
    await put(admin, bucket, `${today}manifest.json`, '{}');
    await put(admin, bucket, `AWSLogs/${ACCOUNT}/vpcflowlogs/eu-west-1/x/${ACCOUNT}_vpcflowlogs_eu-west-1_fl-1_20260416T1000Z_h.log.gz`, body);

    const first = await pollAll(discovery, undefined);
    assert.deepEqual(first.refs.map((r) => r.key).sort(), [k1, k2]);
    assert.ok(first.refs.every((r) => r.size === body.length && r.tenant === 'acme' && r.account === ACCOUNT && r.version.length > 0));

    // Another flow log delivering to the same folder, and a second file of an already-seen window
    // whose hash sorts first: both sort before the last key, so "start after" would miss them.
    const k3 = name('fl-0aaa', '20260416T1010Z', 'beef0001');
    const k4 = name('fl-0bbb', '20260416T1005Z', '00000003');
    assert.ok(k3 < k2 && k4 < k2);
    await put(admin, bucket, k3, body);
    await put(admin, bucket, k4, body);
    const second = await pollAll(discovery, first.cursor);
    assert.deepEqual(second.refs.map((r) => r.key).sort(), [k3, k4]);

    const third = await pollAll(discovery, second.cursor);
    assert.deepEqual(third.refs, [], 'nothing new: nothing emitted');

    // The reader returns the object's bytes, whole or a range of them.
    const got = await streamBytes(await reader.open(first.refs[0]!));
    assert.ok(got.equals(body));
    const part = await streamBytes(await reader.open({ ...first.refs[0]!, range: { start: 10, end: 50 } }));
    assert.ok(part.equals(body.subarray(10, 50)));
  });
});

test('S3 reader: random access for Parquet reads exact ranges', { skip }, async () => {
  await withBucket(async (bucket, admin) => {
    const c = awsConfig(bucket);
    const { reader } = s3Source(c);
    const body = await readFile(parquet);
    const key = `AWSLogs/${ACCOUNT}/vpcflowlogs/${REGION}/2026/04/16/${ACCOUNT}_vpcflowlogs_${REGION}_fl-1_20260416T1000Z_h.log.parquet`;
    await put(admin, bucket, key, body);
    const ref: ObjectRef = { cloud: 'aws', tenant: 'acme', account: ACCOUNT, bucket, key, version: '', size: body.length };
    const ra = await reader.randomAccess(ref);
    const footer = await ra.read(body.length - 8, 8);
    assert.deepEqual(Buffer.from(footer), body.subarray(body.length - 8));
    assert.equal(Buffer.from(footer.subarray(4)).toString('latin1'), 'PAR1');
  });
});

test('S3 errors are classified and never carry the secret: 404, 403, 412 (object replaced), unreachable', { skip }, async () => {
  await withBucket(async (bucket, admin) => {
    const { reader } = s3Source(awsConfig(bucket));
    const missing: ObjectRef = { cloud: 'aws', tenant: 'acme', account: ACCOUNT, bucket, key: 'AWSLogs/nope.log.gz', version: '', size: 1 };
    const notFound = await reader.open(missing).then(() => undefined, (e: unknown) => e);
    assert.ok(notFound instanceof CloudError, String(notFound));
    assert.deepEqual([notFound.kind, notFound.retryable, notFound.cloud], ['not-found', false, 'aws']);
    assert.match(notFound.message, /GetObject s3:\/\/.*AWSLogs\/nope\.log\.gz.*HTTP 404 NoSuchKey/);

    // moto denies an unsigned read of a private object: a real 403 from the server.
    const key = 'AWSLogs/private.log.gz';
    await put(admin, bucket, key, 'x');
    const anonymous = new S3Client({
      region: REGION, endpoint: endpoints().s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'none', secretAccessKey: 'none' },
      signer: { sign: async (req) => req },
    });
    const forbidden = await new S3Reader(anonymous).open({ ...missing, key }).then(() => undefined, (e: unknown) => e);
    assert.ok(forbidden instanceof CloudError, String(forbidden));
    assert.deepEqual([forbidden.kind, forbidden.retryable], ['forbidden', false]);
    assert.match(forbidden.message, /HTTP 403/);

    // Discovered with one ETag, replaced before the read: the read fails instead of mixing versions.
    const etag = (await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).ETag!.replace(/"/g, '');
    await put(admin, bucket, key, 'replaced');
    const changed = await reader.open({ ...missing, key, version: etag }).then(() => undefined, (e: unknown) => e);
    assert.ok(changed instanceof CloudError, String(changed));
    assert.deepEqual([changed.kind, changed.retryable], ['invalid', false]);
    assert.match(changed.message, /HTTP 412/);

    // Nothing listens on port 1: retryable, and still no secret.
    const down = s3Source(awsConfig(bucket, { endpoint: 'http://127.0.0.1:1' }));
    const unreachable = await (async () => {
      for await (const _ of down.discovery.poll(undefined)) void _;
    })().then(() => undefined, (e: unknown) => e);
    assert.ok(unreachable instanceof CloudError, String(unreachable));
    assert.deepEqual([unreachable.kind, unreachable.retryable], ['unavailable', true]);
    assert.match(unreachable.message, /ECONNREFUSED/);

    for (const e of [notFound, forbidden, changed, unreachable]) {
      const all = `${e.message} ${e.stack ?? ''} ${JSON.stringify(e)} ${String((e as { cause?: unknown }).cause ?? '')}`;
      assert.ok(!all.includes(DUMMY_SECRET), 'no secret in the error');
      assert.ok(!/Signature=|Authorization|Credential=/i.test(all), 'no signature or auth header in the error');
    }
  });
});

test('cursor from another version is rejected with the field named', () => {
  assert.throws(() => parseWindowCursor({ v: 2, floor: 1, seen: [] }, 's3://b/p'), /s3:\/\/b\/p: bad listing cursor: v:/);
  assert.throws(() => parseWindowCursor({ v: 1, floor: 1, seen: [['k', 'x']] }, 's3://b/p'), /seen\.0\.1/);
  const ok: WindowCursor = parseWindowCursor({ v: 1, floor: 5, seen: [['k', 6]] }, 'x');
  assert.equal(ok.floor, 5);
});
