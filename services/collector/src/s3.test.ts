import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { newStats, parseObject } from '@sightline/parsers';
import { Collector } from './collector.js';
import { DeadLetter } from './dead-letter.js';
import { createLogger } from './log.js';
import { readToEnd } from './checkpoints.js';
import { createKafka } from '@sightline/service-kit';
import {
  DUMMY_SECRET, adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, perObject, putObject, readTopic, skipInfra, uniqueName, writeConfig,
} from './testdata/harness.js';
import { endpoints, fixturePath } from '@sightline/testkit';


async function parsedCount(body: Buffer, name: string): Promise<number> {
  let n = 0;
  for await (const b of parseObject({ name, open: () => (async function* () { yield body; })() }, { source: name, stats: newStats(), onIssue: () => undefined })) n += b.length;
  return n;
}

/** A pino destination that keeps every line, to check what the collector logged. */
function logSink() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  return { lines, log: createLogger({ destination: dest, level: 'debug' }) };
}

test('S3 list polling --once: every flow of every object reaches Kafka once, bad input goes to the dead-letter topic, the checkpoint holds', { skip: skipInfra, timeout: 120_000 }, async () => {
  const s3 = adminS3();
  const bucket = uniqueName('s3once');
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, bucket);
  const objects = new Map<string, Buffer>();
  const add = async (name: string, body: Buffer) => { const key = awsKey(name); objects.set(key, body); await putObject(s3, bucket, key, body); return key; };
  await add('big', awsFlowLog(20_000, 7));
  await add('small', awsFlowLog(300, 8, 3));
  const sample = await add('sample', await readFile(fixturePath('parsers', 'aws/default-v2.log.gz')));
  const badLines = await add('badlines', gzipSync(await readFile(fixturePath('parsers', 'aws/bad-lines.log'))));
  const notFlow = await add('notflow', gzipSync('this is a shopping list, not a flow log\n'));

  const { lines, log } = logSink();
  const config = await writeConfig({ prefix, sources: [awsSource(bucket)] });
  const c = await Collector.start({ configFile: config, once: true, log });
  await c.done;
  const metricsText = await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text();
  const health = await fetch(`http://127.0.0.1:${c.port}/healthz`);
  assert.equal(health.status, 200);
  await c.stop();
  assert.equal(c.failures, 0);

  const expected = new Map<string, number>();
  for (const [key, body] of objects) expected.set(key, key === notFlow ? 0 : await parsedCount(body, key));
  assert.ok(expected.get(sample)! > 0 && expected.get(badLines)! > 0, 'the samples have flows');
  const total = [...expected.values()].reduce((a, b) => a + b, 0);

  const flows = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.reduce((n, m) => n + m.meta.records, 0) >= total);
  const per = perObject(flows);
  for (const [key, n] of expected) {
    if (n === 0) { assert.equal(per.get(key), undefined, `${key}: no flows`); continue; }
    const o = per.get(key);
    assert.ok(o, `${key}: flows in Kafka`);
    assert.equal(o.records, n, `${key}: every flow once`);
    assert.equal(o.repeats, 0, `${key}: no repeats in a clean run`);
  }
  // Keys: tenant/account/interface-group, and one interface's flows are all in one partition.
  for (const m of flows) assert.match(m.key, /^acme\/123456789012\/\d+$/);

  const letters = await readTopic(`${prefix}dead-letter`, (v) => DeadLetter.parse(JSON.parse(v.toString())), (all) => all.some((l) => l.kind === 'bad-object') && all.some((l) => l.kind === 'bad-record'));
  const bad = letters.find((l) => l.kind === 'bad-object');
  assert.ok(bad, 'the non-flow-log object is dead-lettered');
  assert.equal(bad.ref.key, notFlow);
  assert.match(bad.reason, /not a flow log|not an AWS flow-log header/);
  const badRecord = letters.find((l) => l.kind === 'bad-record');
  assert.ok(badRecord && badRecord.ref.key === badLines && badRecord.line !== undefined && badRecord.raw !== undefined, 'bad lines keep their line and bytes');

  // Metrics per account.
  assert.match(metricsText, /sightline_collector_objects_read_total\{tenant="acme",cloud="aws",account="123456789012"\} 5/);
  assert.match(metricsText, new RegExp(`sightline_collector_records_total\\{tenant="acme",cloud="aws",account="123456789012"\\} ${total}`));
  assert.match(metricsText, /sightline_collector_errors_total\{tenant="acme",cloud="aws",account="123456789012",kind="bad-object"\} 1/);
  assert.match(metricsText, /sightline_collector_lag_seconds\{tenant="acme",cloud="aws",account="123456789012"\} \d/);

  // The checkpoint was written, and a second backfill finds nothing new.
  const kafka = createKafka(endpoints().kafkaBrokers, 'collector-test', log);
  const cps = await readToEnd(kafka, `${prefix}collector-checkpoints`, { timeoutMs: 20_000 });
  assert.equal(cps.size, 1);
  const again = await Collector.start({ configFile: config, once: true, log });
  await again.done;
  await again.stop();
  const text = await (await readTopic(`${prefix}flows`, decodeFlow, (all) => all.length >= flows.length, 10_000)).length;
  assert.equal(text, flows.length, 'the second run published nothing');

  assert.ok(lines.length > 0);
  for (const l of lines) assert.ok(!l.includes(DUMMY_SECRET), `no secret in: ${l}`);
});
