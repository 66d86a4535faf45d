import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AccountSASPermissions, StorageSharedKeyCredential, generateAccountSASQueryParameters } from '@azure/storage-blob';
import { endpoints } from '@sightline/testkit';
import { RecordsScanner } from '@sightline/parsers';
import { AzureSourceSchema, type AzureSourceConfig } from './config.js';
import { asRecordsDocument, azureBlobSource, parseAzureCursor, planBlob, type AzureCursor, type AzureNotice } from './azure-blob.js';
import { CloudError, type ObjectRef } from './types.js';
import { skipInfra as skip } from './testing/infra.js';

const sample = new URL('./testdata/azure-vnet.json', import.meta.url);

const config = (vnet: string, subscriptionId: string, credentials: AzureSourceConfig['credentials'] = { type: 'connection-string', connectionString: 'UseDevelopmentStorage=true' }) =>
  AzureSourceSchema.parse({
    cloud: 'azure', tenant: 'acme', subscriptionId, storageAccount: 'devstoreaccount1',
    containers: { nsg: null, vnet }, credentials, endpoint: endpoints().azureBlobEndpoint, lookbackHours: 2,
  });

const pad = (n: number) => String(n).padStart(2, '0');
function blobName(sub: string, t: number, mac = '112233445566') {
  const d = new Date(t);
  return `flowLogResourceID=/SUBSCRIPTIONS/${sub.toUpperCase()}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS2EUAP/FLOWLOGS/VNETFLOWLOG/`
    + `y=${d.getUTCFullYear()}/m=${pad(d.getUTCMonth() + 1)}/d=${pad(d.getUTCDate())}/h=${pad(d.getUTCHours())}/m=00/macAddress=${mac}/PT1H.json`;
}

// Block ids as the platform would make them: same length, base64.
const id = (gen: string, n: number) => Buffer.from(`${gen}-${String(n).padStart(6, '0')}`).toString('base64');

async function pollAll(d: { poll(c: AzureCursor | undefined): AsyncIterable<{ ref: ObjectRef; cursor: AzureCursor }> }, cursor: AzureCursor | undefined) {
  const refs: ObjectRef[] = [];
  let last = cursor;
  for await (const u of d.poll(cursor)) {
    refs.push(u.ref);
    last = u.cursor;
  }
  return { refs, cursor: last === undefined ? undefined : parseAzureCursor(JSON.parse(JSON.stringify(last)), 'test') };
}

async function bytesOf(s: Readable) {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function scan(bytes: Uint8Array) {
  const records: string[] = [];
  const issues: string[] = [];
  const s = new RecordsScanner('unit', (b) => records.push(Buffer.from(b).toString('utf8')), (kind, _o, m) => issues.push(`${kind}: ${m}`));
  s.push(bytes);
  s.end();
  return { records, issues };
}

test('Azure PT1H.json: first read takes head + records, the next poll fetches only the blocks added before the tail', { skip }, async () => {
  const sub = randomUUID();
  const container = `vnet-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const notices: AzureNotice[] = [];
  const c = config(container, sub);
  const { service, discovery, reader } = azureBlobSource(c, { onNotice: (n) => notices.push(n), rootsTtlMs: 0 });
  const ct = service.getContainerClient(container);
  await ct.create();
  try {
    const records = (JSON.parse(await readFile(sample, 'utf8')) as { records: unknown[] }).records.map((r) => JSON.stringify(r));
    assert.ok(records.length >= 3);
    const blob = ct.getBlockBlobClient(blobName(sub, Date.now()));
    const head = Buffer.from('{"records":['), tail = Buffer.from(']}');
    const rec = records.map((r, i) => Buffer.from(i === 0 ? r : `,${r}`));
    assert.deepEqual([head.length, tail.length], [12, 2]);
    const stage = async (ids: string[], bufs: Buffer[]) => {
      for (let i = 0; i < ids.length; i++) await blob.stageBlock(ids[i]!, bufs[i]!, bufs[i]!.length);
    };
    await stage([id('g1', 0), id('g1', 1), id('g1', 999)], [head, rec[0]!, tail]);
    await blob.commitBlockList([id('g1', 0), id('g1', 1), id('g1', 999)]);
    // Another subscription's flow log in the same container: not ours.
    const other = ct.getBlockBlobClient(blobName(randomUUID(), Date.now()));
    await other.upload('{"records":[]}', 14);

    const first = await pollAll(discovery, undefined);
    assert.equal(first.refs.length, 1);
    const u1 = first.refs[0]!;
    assert.deepEqual([u1.range, u1.blocks, u1.fragment, u1.formatHint, u1.account, u1.size], [{ start: 0, end: 12 + rec[0]!.length }, { first: 0, last: 2 }, undefined, 'azure-vnet', sub, 14 + rec[0]!.length]);
    const got1 = await bytesOf(await reader.open(u1));
    assert.ok(got1.equals(Buffer.concat([head, rec[0]!])));
    assert.deepEqual(scan(got1).records, [records[0]]);

    // The platform appends: new blocks staged and committed before the tail.
    await stage([id('g1', 2), id('g1', 3)], [rec[1]!, rec[2]!]);
    await blob.commitBlockList([id('g1', 0), id('g1', 1), id('g1', 2), id('g1', 3), id('g1', 999)]);
    const fetchedBefore = reader.bytesFetched;
    const second = await pollAll(discovery, first.cursor);
    assert.equal(second.refs.length, 1);
    const u2 = second.refs[0]!;
    const newBytes = rec[1]!.length + rec[2]!.length;
    assert.deepEqual([u2.range, u2.blocks, u2.fragment, u2.version], [{ start: u1.range!.end, end: u1.range!.end + newBytes }, { first: 2, last: 4 }, true, u1.version]);
    const got2 = await bytesOf(await reader.open(u2));
    assert.equal(reader.bytesFetched - fetchedBefore, newBytes, 'only the new blocks were fetched');
    assert.ok(u2.size > newBytes * 1.2, 'while the blob is larger');
    assert.ok(got2.equals(Buffer.concat([rec[1]!, rec[2]!])));
    assert.equal(got2[0], 0x2c, 'a fragment starts with a comma');
    // The current scanner needs the head: with it, the fragment's records come out whole.
    const parsed = scan(await bytesOf(asRecordsDocument(u2, await reader.open(u2))));
    assert.deepEqual(parsed.records, [records[1], records[2]]);

    assert.deepEqual((await pollAll(discovery, second.cursor)).refs, [], 'no new block: nothing to read');
    assert.equal(notices.length, 0);

    // Replaced in place (new block ids, shorter): said so, and read again from the start.
    await stage([id('g2', 0), id('g2', 1), id('g2', 999)], [head, rec[2]!.subarray(1), tail]);
    await blob.commitBlockList([id('g2', 0), id('g2', 1), id('g2', 999)]);
    const third = await pollAll(discovery, second.cursor);
    assert.equal(notices.length, 1);
    assert.match(notices.map((n) => n.message).join(), /was replaced .* reading it again from the start/);
    assert.deepEqual([third.refs.length, third.refs[0]?.range, third.refs[0]?.fragment], [1, { start: 0, end: 12 + rec[2]!.length - 1 }, undefined]);
  } finally {
    await ct.delete().catch(() => undefined);
  }
});

test('Azure errors: a wrong account key is a 403 without the key, a missing blob a 404', { skip }, async () => {
  const fakeKey = randomBytes(64).toString('base64');
  const u = new URL(endpoints().azureBlobEndpoint);
  const cs = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${fakeKey};BlobEndpoint=${u.href};`;
  const { discovery } = azureBlobSource(config('insights-logs-flowlogflowevent', randomUUID(), { type: 'connection-string', connectionString: cs }));
  const err = await pollAll(discovery, undefined).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof CloudError, String(err));
  assert.deepEqual([err.kind, err.retryable, err.cloud], ['forbidden', false, 'azure']);
  assert.match(err.message, /HTTP 403/);
  assert.ok(!`${err.message}${err.stack}${JSON.stringify(err)}`.includes(fakeKey.slice(0, 20)));

  const { reader } = azureBlobSource(config('nope-container', randomUUID()));
  const missing = await reader.open({ cloud: 'azure', tenant: 'acme', account: 'x', bucket: 'nope-container', key: 'a/PT1H.json', version: '', size: 10, range: { start: 0, end: 5 } }).then(() => undefined, (e: unknown) => e);
  assert.ok(missing instanceof CloudError, String(missing));
  assert.deepEqual([missing.kind, missing.retryable], ['not-found', false]);
});

test('Azure SAS credentials: a read/list SAS reads the blob, an expired one is a 403 that does not carry the signature', { skip }, async () => {
  const sub = randomUUID();
  const container = `vnet-sas-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const admin = azureBlobSource(config(container, sub));
  const ct = admin.service.getContainerClient(container);
  await ct.create();
  try {
    const blob = ct.getBlockBlobClient(blobName(sub, Date.now()));
    const parts = ['{"records":[', '{"time":"2026-04-16T10:00:00Z"}', ']}'].map((p) => Buffer.from(p));
    for (let i = 0; i < parts.length; i++) await blob.stageBlock(id('s', i), parts[i]!, parts[i]!.length);
    await blob.commitBlockList(parts.map((_, i) => id('s', i)));
    // The SDK knows Azurite's public development key; it signs the SAS and is never printed.
    const key = admin.service.credential;
    assert.ok(key instanceof StorageSharedKeyCredential);
    const sas = (expiresOn: Date) => generateAccountSASQueryParameters({ permissions: AccountSASPermissions.parse('rl'), services: 'b', resourceTypes: 'sco', expiresOn, startsOn: new Date(Date.now() - 3_600_000) }, key).toString();

    const ok = azureBlobSource(config(container, sub, { type: 'sas', sasToken: `?${sas(new Date(Date.now() + 3_600_000))}` }));
    const { refs } = await pollAll(ok.discovery, undefined);
    assert.equal(refs.length, 1);
    assert.equal((await bytesOf(await ok.reader.open(refs[0]!))).toString(), '{"records":[{"time":"2026-04-16T10:00:00Z"}');

    const expired = sas(new Date(Date.now() - 60_000));
    const old = azureBlobSource(config(container, sub, { type: 'sas', sasToken: expired }));
    const err = await pollAll(old.discovery, undefined).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof CloudError, String(err));
    assert.deepEqual([err.kind, err.retryable], ['forbidden', false]);
    const sig = new URLSearchParams(expired).get('sig')!;
    assert.ok(!`${err.message}${err.stack}`.includes(sig) && !`${err.message}`.includes(encodeURIComponent(sig)));
  } finally {
    await ct.delete().catch(() => undefined);
  }
});

test('block plan: tail never read, too-short lists wait, changed ids or sizes mean replaced', () => {
  const b = (name: string, size: number) => ({ name, size });
  assert.deepEqual(planBlob([b('h', 12), b('t', 2)], undefined), { kind: 'none', replaced: false });
  const p = planBlob([b('h', 12), b('r1', 100), b('t', 2)], undefined);
  assert.ok(p.kind === 'unit');
  assert.deepEqual([p.start, p.end, p.first, p.last, p.checkpoint], [0, 112, 0, 2, { blocks: 2, firstBlock: 'h', lastBlock: 'r1', consumed: 112 }]);
  const grown = planBlob([b('h', 12), b('r1', 100), b('r2', 50), b('t', 2)], p.checkpoint);
  assert.ok(grown.kind === 'unit' && !grown.replaced);
  assert.deepEqual([grown.start, grown.end, grown.first, grown.last], [112, 162, 2, 3]);
  assert.deepEqual(planBlob([b('h', 12), b('r1', 100), b('t', 2)], p.checkpoint), { kind: 'none', replaced: false });
  const resized = planBlob([b('h', 12), b('r1', 99), b('r2', 50), b('t', 2)], p.checkpoint);
  assert.ok(resized.kind === 'unit' && resized.replaced && resized.start === 0);
  const renamed = planBlob([b('h', 12), b('x', 100), b('r2', 50), b('t', 2)], p.checkpoint);
  assert.ok(renamed.kind === 'unit' && renamed.replaced && renamed.start === 0);
});
