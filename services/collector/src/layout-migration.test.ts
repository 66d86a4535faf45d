import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { collectorTopicSpecs, ensureTopics } from '@sightline/bus';
import { createKafka, createProducer } from '@sightline/service-kit';
import { endpoints } from '@sightline/testkit';
import { readToEnd } from './checkpoints.js';
import { Collector } from './collector.js';
import { createLogger } from './log.js';
import { ACCOUNT, REGION, adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, putObject, skipInfra, uniqueName, writeConfig } from './testdata/harness.js';
import { readTopicToEnd } from './testdata/topic-to-end.js';

/** Where AWS delivers an object of today with Hive-compatible partitions. */
function hiveKey(name: string, at = new Date()): string {
  const y = at.getUTCFullYear();
  const m = String(at.getUTCMonth() + 1).padStart(2, '0');
  const d = String(at.getUTCDate()).padStart(2, '0');
  return `AWSLogs/aws-account-id=${ACCOUNT}/aws-service=vpcflowlogs/aws-region=${REGION}/year=${y}/month=${m}/day=${d}/hour=00/${ACCOUNT}_vpcflowlogs_${REGION}_fl-${name}_${y}${m}${d}T0000Z_${randomBytes(4).toString('hex')}.log.gz`;
}

test('a plain and a Hive flow log in one bucket are both collected, and the checkpoint the previous version wrote without the layout is carried over', { skip: skipInfra, timeout: 120_000 }, async () => {
  const s3 = adminS3();
  const bucket = uniqueName('layout');
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, bucket);
  const a = awsKey('a');
  await putObject(s3, bucket, a, awsFlowLog(50, 1));
  const b = awsKey('b');
  await putObject(s3, bucket, b, awsFlowLog(60, 2));
  const h = hiveKey('h');
  await putObject(s3, bucket, h, awsFlowLog(70, 3));
  const lmA = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: a }))).LastModified!.getTime();

  // The checkpoint the previous main wrote after object a, under its name of the source (no layout), to the real topic.
  const log = createLogger({ level: 'warn' });
  const kafka = createKafka(endpoints().kafkaBrokers, 'layout-test', log);
  const spec = collectorTopicSpecs({ prefix, workPartitions: 6 }).checkpoints;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [spec]);
  await admin.disconnect();
  const legacyId = `acme/aws/${ACCOUNT}/${REGION}/${bucket}/`;
  const old = JSON.stringify({ source: legacyId, cursor: { v: 1, floor: lmA, seen: [[a, lmA]] }, last: a, at: new Date().toISOString(), by: 'previous-main' });
  const producer = createProducer(kafka);
  await producer.connect();
  await producer.send({ topic: spec.name, acks: -1, messages: [{ key: legacyId, value: old }] });
  await producer.disconnect();

  const config = await writeConfig({ prefix, sources: [awsSource(bucket), awsSource(bucket, { layout: 'hive' })] });
  const c = await Collector.start({ configFile: config, once: true, log });
  await c.done;
  await c.stop();
  assert.equal(c.failures, 0);

  const flows = await readTopicToEnd(`${prefix}flows`, decodeFlow);
  const records = new Map<string, number>();
  for (const m of flows) records.set(m.meta.source.key, (records.get(m.meta.source.key) ?? 0) + m.meta.records);
  assert.deepEqual(Object.fromEntries(records), { [b]: 60, [h]: 70 }, 'a was read by the previous version: the carried-over cursor skips it; the Hive source reads its own object');

  const cps = await readToEnd(kafka, spec.name, { timeoutMs: 20_000 });
  assert.equal(cps.get(legacyId), old, 'the old record is left as it was');
  const plain = JSON.parse(cps.get(`${legacyId}#plain`) ?? 'null') as { cursor: { seen: [string, number][] } } | null;
  assert.ok(plain, 'the plain source\'s checkpoint is under its new name');
  assert.deepEqual(plain.cursor.seen.map(([k]) => k).sort(), [a, b].sort(), 'carried over from the old record, then advanced');
  const hive = JSON.parse(cps.get(`${legacyId}#hive`) ?? 'null') as { cursor: { seen: [string, number][] } } | null;
  assert.ok(hive, 'the Hive source has its own checkpoint');
  assert.deepEqual(hive.cursor.seen.map(([k]) => k), [h], 'the plain source\'s old cursor was not given to the Hive source');
});
