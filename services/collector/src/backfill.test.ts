import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import kafkajs from 'kafkajs';
import { endpoints } from '@sightline/testkit';
import { runBackfill, BackfillUsageError } from './backfill.js';
import { BackfillProgress, parseTimeArg } from './cli.js';
import { Collector } from './collector.js';
import { createLogger } from './log.js';
import { readToEnd } from './checkpoints.js';
import { createKafka } from '@sightline/service-kit';
import { DUMMY_SECRET, adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, putObject, skipInfra, uniqueName, writeConfig, type FlowMessage } from './testdata/harness.js';
import { Pt1hWriter, adminAzure, azureSource, createGcsBucket, deleteGcsBucket, gcpFlowLog, gcpSource, gcsDay, gcsShard, newSubscription, nsgBlobName, nsgRecord, uniqueContainer } from './testdata/clouds.js';
import { readTopicToEnd } from './testdata/topic-to-end.js';

const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

function logSink() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  return { lines, log: createLogger({ destination: dest, level: 'info' }) };
}

/** Records per source object, and the batch ids, of the messages read. */
function byObject(msgs: FlowMessage[]) {
  const records = new Map<string, number>();
  for (const m of msgs) records.set(m.meta.source.key, (records.get(m.meta.source.key) ?? 0) + m.meta.records);
  return records;
}
const ids = (msgs: FlowMessage[]) => msgs.map((m) => m.meta.id).sort();

/** The end offsets of a topic: equal before and after means nothing was written. */
async function endOffsets(topic: string): Promise<string> {
  const admin = new kafkajs.Kafka({ clientId: 'backfill-test', brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return JSON.stringify((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]).sort());
  } finally {
    await admin.disconnect();
  }
}

test('S3 backfill: objects older than the look-back window are published by backfill, not by collect --once; same batch ids as live collection and as a second run; --source selects one source; the checkpoints are left alone', { skip: skipInfra, timeout: 180_000 }, async () => {
  const s3 = adminS3();
  const [b1, b2] = [uniqueName('bf1'), uniqueName('bf2')];
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, b1);
  await createBucket(s3, b2);
  const now = Date.now();
  const old = new Date(now - 20 * DAY);
  const o1 = awsKey('old1', old), o2 = awsKey('old2', old), fresh = awsKey('fresh'), other = awsKey('other', old);
  await putObject(s3, b1, o1, awsFlowLog(300, 1));
  await putObject(s3, b1, o2, awsFlowLog(400, 2));
  await putObject(s3, b1, fresh, awsFlowLog(500, 3));
  await putObject(s3, b2, other, awsFlowLog(600, 4));
  const config = await writeConfig({ prefix, sources: [awsSource(b1), awsSource(b2)] });
  const { lines, log } = logSink();
  const flowsTopic = `${prefix}flows`;
  const cpTopic = `${prefix}collector-checkpoints`;

  // Live collection: the look-back window (6 h by default) holds only today's object.
  const c = await Collector.start({ configFile: config, once: true, log });
  await c.done;
  await c.stop();
  const live = await readTopicToEnd(flowsTopic, decodeFlow);
  assert.deepEqual(Object.fromEntries(byObject(live)), { [fresh]: 500 }, 'collect --once cannot reach objects 20 days old');
  const kafka = createKafka(endpoints().kafkaBrokers, 'backfill-test', log);
  const cpBefore = await readToEnd(kafka, cpTopic, { timeoutMs: 20_000 });
  const cpEndsBefore = await endOffsets(cpTopic);
  assert.ok(cpBefore.size >= 1, 'live collection wrote a checkpoint');

  // Backfill of b1 only, from the old day to today: the two old objects and today's.
  const range = { fromMs: parseTimeArg(day(old.getTime()), 'from'), toMs: parseTimeArg(day(now), 'to') };
  const id1 = `acme/aws/123456789012/us-east-1/${b1}/#plain`;
  const totals: { objects: number; bytes: number }[] = [];
  const first = await runBackfill({ configFile: config, range, source: id1, log, onTotals: (t) => totals.push(t) });
  assert.deepEqual({ ...first, seconds: 0 }, { sources: [id1], objects: 3, bytes: first.bytes, flows: 1200, batches: first.batches, failures: 0, seconds: 0 });
  assert.ok(first.bytes > 0 && first.batches >= 3);
  assert.equal(totals.length, 1);
  assert.equal(totals[0]!.objects, 3);
  assert.equal(totals[0]!.bytes, first.bytes, 'the listed total is what was read (the ETA\'s basis)');
  const afterFirst = await readTopicToEnd(flowsTopic, decodeFlow);
  const run1 = afterFirst.filter((m) => !live.some((l) => l.partition === m.partition && l.offset === m.offset));
  assert.deepEqual(Object.fromEntries(byObject(run1)), { [o1]: 300, [o2]: 400, [fresh]: 500 }, '--source: nothing of the other bucket');
  assert.deepEqual(ids(run1.filter((m) => m.meta.source.key === fresh)), ids(live), 'today\'s object: the batch ids live collection used (the store drops them)');

  // The live checkpoints: neither written nor changed.
  assert.equal(await endOffsets(cpTopic), cpEndsBefore, 'nothing written to the checkpoint topic');
  assert.deepEqual(await readToEnd(kafka, cpTopic, { timeoutMs: 20_000 }), cpBefore);

  // Again: the same batches, the same ids.
  const second = await runBackfill({ configFile: config, range, source: id1, log });
  assert.equal(second.flows, 1200);
  const afterSecond = await readTopicToEnd(flowsTopic, decodeFlow);
  const run2 = afterSecond.filter((m) => !afterFirst.some((l) => l.partition === m.partition && l.offset === m.offset));
  assert.deepEqual(ids(run2), ids(run1), 'a second backfill publishes batches with the same ids');

  // Without --source: every source; only the old day this time.
  const all = await runBackfill({ configFile: config, range: { fromMs: range.fromMs, toMs: range.fromMs + DAY }, log });
  assert.deepEqual([all.sources.length, all.objects, all.flows], [2, 3, 1300]);
  assert.equal(await endOffsets(cpTopic), cpEndsBefore);

  await assert.rejects(runBackfill({ configFile: config, range, source: 'acme/aws/nope', log }), (e: unknown) => e instanceof BackfillUsageError && e.message.includes(id1));
  for (const l of lines) assert.ok(!l.includes(DUMMY_SECRET), `no secret in: ${l}`);
});

test('backfill of a range with no objects ends cleanly with a zero summary', { skip: skipInfra, timeout: 60_000 }, async () => {
  const s3 = adminS3();
  const bucket = uniqueName('bfempty');
  await createBucket(s3, bucket);
  await putObject(s3, bucket, awsKey('today'), awsFlowLog(10, 1));
  const prefix = `${uniqueName('t')}.`;
  const config = await writeConfig({ prefix, sources: [awsSource(bucket)] });
  const { log } = logSink();
  const s = await runBackfill({ configFile: config, range: { fromMs: Date.UTC(2024, 0, 1), toMs: Date.UTC(2024, 0, 8) }, log });
  assert.deepEqual({ ...s, seconds: 0 }, { sources: [`acme/aws/123456789012/us-east-1/${bucket}/#plain`], objects: 0, bytes: 0, flows: 0, batches: 0, failures: 0, seconds: 0 });
});

test('GCS and Azure backfill: a shard and a PT1H.json blob 20 days old are published by backfill, not by collect --once', { skip: skipInfra, timeout: 180_000 }, async (t) => {
  const now = Date.now();
  const old = now - 20 * DAY;
  const gcsBucket = await createGcsBucket(uniqueName('bfgcs'));
  t.after(() => deleteGcsBucket(gcsBucket));
  const shard = gcsShard(gcsDay(new Date(old)), 7, 'S0');
  await gcsBucket.file(shard).save(gcpFlowLog(250, 5));

  const sub = newSubscription();
  const nsg = uniqueContainer('bfnsg');
  const container = adminAzure().getContainerClient(nsg);
  await container.create();
  t.after(async () => { await container.delete().catch(() => undefined); });
  const blobName = nsgBlobName(sub, Date.UTC(new Date(old).getUTCFullYear(), new Date(old).getUTCMonth(), new Date(old).getUTCDate(), 7));
  const w = new Pt1hWriter(container, blobName);
  await w.append([nsgRecord(sub, 40, 1, old), nsgRecord(sub, 60, 2, old)]);

  const prefix = `${uniqueName('t')}.`;
  const config = await writeConfig({ prefix, sources: [gcpSource(gcsBucket.name), azureSource(sub, { nsg, vnet: null })] });
  const { log } = logSink();
  const c = await Collector.start({ configFile: config, once: true, log });
  await c.done;
  await c.stop();
  assert.equal((await readTopicToEnd(`${prefix}flows`, decodeFlow)).length, 0, 'collect --once reads neither');

  const range = { fromMs: parseTimeArg(day(old), 'from'), toMs: parseTimeArg(day(old), 'to') };
  const s = await runBackfill({ configFile: config, range, log });
  assert.deepEqual([s.objects, s.flows, s.failures], [2, 350, 0]);
  const flows = await readTopicToEnd(`${prefix}flows`, decodeFlow);
  assert.deepEqual(Object.fromEntries(byObject(flows)), { [shard]: 250, [blobName]: 100 });
  // The hour after the blob's: nothing.
  const none = await runBackfill({ configFile: config, range: { fromMs: range.fromMs + 8 * 3_600_000, toMs: range.toMs }, log });
  assert.deepEqual([none.objects, none.flows], [0, 0]);
});

test('Azure backfill over blobs live collection is reading: it starts where the live cursor stands (never written), so it and live collection publish the same batch ids', { skip: skipInfra, timeout: 180_000 }, async (t) => {
  const sub = newSubscription();
  const nsg = uniqueContainer('bflive');
  const container = adminAzure().getContainerClient(nsg);
  await container.create();
  t.after(async () => { await container.delete().catch(() => undefined); });
  const now = Date.now();
  const blobName = nsgBlobName(sub, now);
  const w = new Pt1hWriter(container, blobName);
  await w.append([nsgRecord(sub, 20, 1), nsgRecord(sub, 30, 2)]);
  const prefix = `${uniqueName('t')}.`;
  const config = await writeConfig({ prefix, sources: [azureSource(sub, { nsg, vnet: null })] });
  const { log } = logSink();
  const once = async () => { const c = await Collector.start({ configFile: config, once: true, log }); await c.done; await c.stop(); };
  await once();
  const first = await readTopicToEnd(`${prefix}flows`, decodeFlow);
  assert.equal(first.reduce((n, m) => n + m.meta.records, 0), 50);

  await w.append([nsgRecord(sub, 7, 3), nsgRecord(sub, 11, 4)]);
  const cpTopic = `${prefix}collector-checkpoints`;
  const cpEnds = await endOffsets(cpTopic);
  const s = await runBackfill({ configFile: config, range: { fromMs: parseTimeArg(day(now), 'from'), toMs: parseTimeArg(day(now), 'to') }, log });
  assert.deepEqual([s.objects, s.flows], [1, 18], 'only the blocks added since the live cursor');
  assert.equal(await endOffsets(cpTopic), cpEnds, 'the live cursor is read, not written');
  const afterBackfill = await readTopicToEnd(`${prefix}flows`, decodeFlow);
  const backfilled = afterBackfill.filter((m) => !first.some((l) => l.partition === m.partition && l.offset === m.offset));
  await once();
  const afterLive = await readTopicToEnd(`${prefix}flows`, decodeFlow);
  const liveNext = afterLive.filter((m) => !afterBackfill.some((l) => l.partition === m.partition && l.offset === m.offset));
  assert.deepEqual(ids(liveNext), ids(backfilled), 'live collection then reads the same range: the same ids, dropped by the store');
});

test('--from and --to: RFC 3339 with its offset, or a date (as --to: the end of that day); anything else refused', () => {
  assert.equal(parseTimeArg('2026-09-01', 'from'), Date.UTC(2026, 8, 1));
  assert.equal(parseTimeArg('2026-09-30', 'to'), Date.UTC(2026, 9, 1));
  assert.equal(parseTimeArg('2026-09-01T06:30:00Z', 'from'), Date.UTC(2026, 8, 1, 6, 30));
  assert.equal(parseTimeArg('2026-09-01T08:30:00.5+02:00', 'to'), Date.UTC(2026, 8, 1, 6, 30, 0, 500));
  for (const bad of ['2026-02-30', '2026-9-1', 'yesterday', '2026-09-01T06:30', '1756700000']) assert.throws(() => parseTimeArg(bad, 'from'), /--from /);
});

test('progress: objects, bytes and flows against the listed totals, rate and ETA on a terminal, a JSON line otherwise', () => {
  const out: string[] = [];
  const tty = new BackfillProgress('tty', createLogger({ level: 'silent' }), (s) => out.push(s));
  tty.tick();
  assert.match(out.at(-1)!, /backfill: listing the range/);
  tty.totals({ objects: 4, bytes: 4 * 1048576 });
  tty.unit(1048576, 1000);
  tty.tick();
  assert.match(out.at(-1)!, /^\r\x1b\[2Kbackfill: 1\/4 objects, 1\.0\/4\.0 MiB, 1,000 flows, [\d.]+ MiB\/s, [\d,]+ flows\/s, ETA \d+m\d\ds$/);
  const { lines, log } = logSink();
  const plain = new BackfillProgress('log', log);
  plain.totals({ objects: 2, bytes: 200 });
  plain.unit(100, 10);
  plain.tick();
  const rec = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  assert.equal(rec['msg'], 'backfill progress');
  assert.deepEqual([rec['objects'], rec['objectsTotal'], rec['bytes'], rec['bytesTotal'], rec['flows']], [1, 2, 100, 200, 10]);
  assert.ok(typeof rec['etaSeconds'] === 'number' && typeof rec['flowsPerSecond'] === 'number');
});
