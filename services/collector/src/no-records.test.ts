import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { ObjectRef } from '@sightline/object-store';
import { Collector } from './collector.js';
import { DeadLetter } from './dead-letter.js';
import { createLogger } from './log.js';
import type { UnitResult } from './unit.js';
import {
  adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, perObject, putObject, readTopic, skipInfra, uniqueName, writeConfig,
} from './testdata/harness.js';
import { Pt1hWriter, adminAzure, azureSource, newSubscription, nsgBlobName, nsgRecord, uniqueContainer } from './testdata/clouds.js';

/**
 * An object that is a flow log by its header, but every line of it is bad, gives no flow and
 * only errors. It used to be committed as a success with zero flows (its errors went out as
 * bad-record letters, the object itself left no trace as a failure). It is now dead-lettered as
 * a bad object: its key, the reason, and the first bad line's bytes for replay.
 */
test('S3: an object with bad lines only is dead-lettered as a bad object (key, reason, first bad bytes); the good object next to it is published', { skip: skipInfra, timeout: 120_000 }, async () => {
  const s3 = adminS3();
  const bucket = uniqueName('s3norec');
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, bucket);
  const header = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
  const badLines = Array.from({ length: 500 }, (_, i) => `2 123456789012 eni-0a1b2c3d4e5f60718 10.0.0.${i % 250} not-an-address ${40000 + i} 443 6 10 1000 1700000000 1700000060 ACCEPT OK`);
  const badKey = awsKey('allbad');
  const goodKey = awsKey('good');
  await putObject(s3, bucket, badKey, gzipSync(`${header}\n${badLines.join('\n')}\n`));
  await putObject(s3, bucket, goodKey, awsFlowLog(200, 3));

  const units = new Map<string, UnitResult>();
  const config = await writeConfig({ prefix, sources: [awsSource(bucket)] });
  const c = await Collector.start({ configFile: config, once: true, log: createLogger({ level: 'silent' }), onUnit: (ref: ObjectRef, r) => units.set(ref.key, r) });
  await c.done;
  const metrics = await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text();
  await c.stop();
  assert.equal(c.failures, 0);

  const bad = units.get(badKey);
  assert.ok(bad, 'the bad object was processed');
  assert.equal(bad.records, 0);
  assert.match(bad.badObject ?? '', /no flow record, 500 bad lines or records/, 'the unit is a bad object, not a success with zero flows');
  assert.equal(units.get(goodKey)?.records, 200);

  const letters = await readTopic(`${prefix}dead-letter`, (v) => DeadLetter.parse(JSON.parse(v.toString())), (all) => all.some((l) => l.kind === 'bad-object'));
  const objectLetters = letters.filter((l) => l.kind === 'bad-object');
  assert.equal(objectLetters.length, 1);
  const letter = objectLetters[0]!;
  assert.equal(letter.ref.key, badKey);
  assert.equal(letter.ref.bucket, bucket);
  assert.match(letter.reason, /no flow record, 500 bad lines or records; the first: .*dstaddr/);
  assert.equal(letter.line, 2, 'where the first bad line is');
  assert.equal(Buffer.from(letter.raw ?? '', 'base64').toString(), badLines[0], 'the first bad line is kept for replay');
  assert.match(metrics, /sightline_collector_errors_total\{tenant="acme",cloud="aws",account="123456789012",kind="bad-object"\} 1/);

  const flows = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.reduce((n, m) => n + m.meta.records, 0) >= 200);
  const per = perObject(flows);
  assert.equal(per.get(goodKey)?.records, 200);
  assert.equal(per.get(badKey), undefined, 'no flow message for the bad object');
});

test('Azure: a PT1H.json of 10^4 empty records is dead-lettered as a bad object (blob, reason, first record\'s bytes); the NSG blob next to it is published', { skip: skipInfra, timeout: 120_000 }, async () => {
  const sub = newSubscription();
  const nsgName = uniqueContainer('nsgnorec');
  const container = adminAzure().getContainerClient(nsgName);
  await container.create();
  const prefix = `${uniqueName('t')}.`;
  try {
    const now = Date.now();
    const good = new Pt1hWriter(container, nsgBlobName(sub, now));
    await good.append([nsgRecord(sub, 30, 1), nsgRecord(sub, 30, 2)]);
    const empty = new Pt1hWriter(container, nsgBlobName(sub, now, 'AKS-AGENTPOOL-27182818-NSG'));
    await empty.append(Array<string>(10_000).fill('{}'), 10_000);

    const units = new Map<string, UnitResult>();
    const config = await writeConfig({ prefix, sources: [azureSource(sub, { nsg: nsgName, vnet: null })] });
    const c = await Collector.start({ configFile: config, once: true, log: createLogger({ level: 'silent' }), onUnit: (ref: ObjectRef, r) => units.set(ref.key, r) });
    await c.done;
    await c.stop();
    assert.equal(c.failures, 0);
    assert.equal(units.get(good.name)?.records, 60);
    const bad = units.get(empty.name);
    assert.ok(bad, 'the blob of empty records was processed');
    assert.equal(bad.records, 0);
    assert.equal(bad.issues, 10_000, 'every empty record counted');
    assert.match(bad.badObject ?? '', /no flow record, 10000 bad lines or records; the first: empty record/);

    const letters = await readTopic(`${prefix}dead-letter`, (v) => DeadLetter.parse(JSON.parse(v.toString())), (all) => all.some((l) => l.kind === 'bad-object'));
    const objectLetters = letters.filter((l) => l.kind === 'bad-object');
    assert.equal(objectLetters.length, 1);
    const letter = objectLetters[0]!;
    assert.equal(letter.ref.cloud, 'azure');
    assert.equal(letter.ref.bucket, nsgName);
    assert.equal(letter.ref.key, empty.name);
    assert.ok(letter.ref.blocks, 'the block range of the unit, for replay');
    assert.equal(letter.offset, 12, 'the first record, after {"records":[');
    assert.equal(Buffer.from(letter.raw ?? '', 'base64').toString(), '{}');
    assert.ok(letters.filter((l) => l.kind === 'bad-record' && l.ref.key === empty.name).length <= 1000, 'record letters stay capped per unit');
  } finally {
    await container.delete();
  }
});
