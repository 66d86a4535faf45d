import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { endpoints, fixturePath } from '@sightline/testkit';
import { GcpSourceSchema, type GcpSourceConfig } from './config.js';
import { gcsSource } from './gcs.js';
import { dayPrefixes, parseWindowCursor, type WindowCursor } from './listing-window.js';
import { CloudError, type ObjectRef } from './types.js';
import { skipInfra as skip, uniqueName } from './testing/infra.js';

const sample = fixturePath('parsers', 'gcp/vpc_flows.ndjson');

const config = (bucket: string): GcpSourceConfig =>
  GcpSourceSchema.parse({ cloud: 'gcp', tenant: 'acme', projectId: 'sightline-local', bucket, credentials: { type: 'emulator' }, apiEndpoint: endpoints().gcsEndpoint });

async function pollAll(d: { poll(c: WindowCursor | undefined): AsyncIterable<{ ref: ObjectRef; cursor: WindowCursor }> }, cursor: WindowCursor | undefined) {
  const refs: ObjectRef[] = [];
  let last = cursor;
  for await (const u of d.poll(cursor)) {
    refs.push(u.ref);
    last = u.cursor;
  }
  return { refs, cursor: last === undefined ? undefined : parseWindowCursor(JSON.parse(JSON.stringify(last)), 'test') };
}

const bytesOf = async (s: AsyncIterable<Buffer>) => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c);
  return Buffer.concat(parts);
};

test('GCS list polling: hourly S shards, then a late A shard that sorts before them is found, nothing twice', { skip }, async () => {
  const c = config(uniqueName('g'));
  const { storage, discovery, reader } = gcsSource(c);
  const [bucket] = await (await storage).createBucket(c.bucket);
  try {
    const day = dayPrefixes(c.prefix, 'plain', Date.now(), Date.now())[0]!;
    const body = await readFile(sample);
    const s08 = `${day}08:00:00_08:59:59_S0.json`;
    await bucket.file(s08).save(body, { resumable: false });
    await bucket.file(`${day}README.txt`).save('not a flow log', { resumable: false });
    const first = await pollAll(discovery, undefined);
    assert.deepEqual(first.refs.map((r) => r.key), [s08]);
    assert.ok(first.refs.every((r) => r.size === body.length && /^\d+$/.test(r.version) && r.account === 'sightline-local'));

    // The trap: the addendum shard of the same hour sorts before S0, which the cursor has passed.
    const a08 = `${day}08:00:00_08:59:59_A0:${Math.floor(Date.now() / 1000)}.json`;
    const s09 = `${day}09:00:00_09:59:59_S0.json`;
    assert.ok(a08 < s08, 'a "start after the last key" cursor would never list it');
    await bucket.file(a08).save(body.subarray(0, 1000), { resumable: false });
    await bucket.file(s09).save(body, { resumable: false });
    const second = await pollAll(discovery, first.cursor);
    assert.deepEqual(second.refs.map((r) => r.key).sort(), [a08, s09]);
    assert.deepEqual((await pollAll(discovery, second.cursor)).refs, []);

    // Reads: whole, a range, random access; all pinned to the listed generation.
    const aRef = second.refs.find((r) => r.key === a08)!;
    assert.ok((await bytesOf(await reader.open(aRef))).equals(body.subarray(0, 1000)));
    assert.ok((await bytesOf(await reader.open({ ...aRef, range: { start: 100, end: 250 } }))).equals(body.subarray(100, 250)));
    const ra = await reader.randomAccess(first.refs[0]!);
    assert.deepEqual(Buffer.from(await ra.read(body.length - 16, 16)), body.subarray(body.length - 16));

    // 404 as a CloudError on the stream, retryable: false.
    const gone = await bytesOf(await reader.open({ ...aRef, key: `${day}nope.json`, version: '' })).then(() => undefined, (e: unknown) => e);
    assert.ok(gone instanceof CloudError, String(gone));
    assert.deepEqual([gone.kind, gone.retryable, gone.cloud], ['not-found', false, 'gcp']);
    assert.match(gone.message, /gs:\/\/.*nope\.json.*HTTP 404/);
  } finally {
    await bucket.deleteFiles({ force: true }).catch(() => undefined);
    await bucket.delete().catch(() => undefined);
  }
});

test('GCS credentials: a malformed key is refused without echoing it; unreachable endpoint is retryable', { skip }, async () => {
  const secret = '-----BEGIN PRIVATE KEY-----not-really';
  const bad = GcpSourceSchema.parse({ cloud: 'gcp', tenant: 'acme', projectId: 'sightline-local', bucket: 'b-b-b', credentials: { type: 'service-account-key', keyJson: JSON.stringify({ type: 'authorized_user', private_key: secret }) } });
  assert.throws(() => gcsSource(bad), (e: Error) => /keyJson is not a service-account key: type/.test(e.message) && !e.message.includes(secret));

  const down = gcsSource({ ...config('b-b-b'), apiEndpoint: 'http://127.0.0.1:1' });
  const err = await (async () => {
    for await (const _ of down.discovery.poll(undefined)) void _;
  })().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof CloudError, String(err));
  assert.deepEqual([err.kind, err.retryable], ['unavailable', true]);
});
