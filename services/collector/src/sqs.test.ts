import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fixturePath } from '@sightline/testkit';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { newStats, parseObject } from '@sightline/parsers';
import type { Notification, NotificationSource, ObjectRef } from '@sightline/object-store';
import { Collector } from './collector.js';
import { DeadLetter } from './dead-letter.js';
import { createLogger } from './log.js';
import { defaultSourceFactory, type SourceFactory } from './sources.js';
import {
  DUMMY_SECRET, adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, perObject, putObject, readTopic, skipInfra, uniqueName, until, writeConfig,
} from './testdata/harness.js';
import { adminSqs, deleteQueue, notifyingQueue, queueDepth } from './testdata/clouds.js';
import { spawnCollector } from './testdata/process.js';

const quiet = () => createLogger({ level: 'silent' });

async function parsedCount(body: Buffer, name: string): Promise<number> {
  let n = 0;
  for await (const b of parseObject({ name, open: () => (async function* () { yield body; })() }, { source: name, stats: newStats(), onIssue: () => undefined })) n += b.length;
  return n;
}

/**
 * Sources as in production, with two observation points: the objects whose key is in `slow` are
 * read slowly (the download holds its first chunk for `holdMs`, as a large object on a slow link
 * would), and every ack() of a notification records which of its objects had been fully published
 * (acknowledged by Kafka) at that moment.
 */
function observedSources(slow: Set<string>, holdMs: number, published: Set<string>, acks: { keys: string[]; publishedBefore: boolean }[]): SourceFactory {
  return (c) => {
    const s = defaultSourceFactory(c);
    const reader = {
      open: async (ref: ObjectRef, signal?: AbortSignal) => {
        const stream = await s.reader.open(ref, signal);
        if (!slow.has(ref.key)) return stream;
        return Readable.from((async function* () {
          await sleep(holdMs, undefined, signal ? { signal } : {});
          for await (const chunk of stream) yield chunk as Buffer;
        })());
      },
      randomAccess: (ref: ObjectRef) => s.reader.randomAccess(ref),
    };
    const inner = s.notifications;
    const notifications: NotificationSource | undefined = inner && {
      receive: async (max, wait, signal) => (await inner.receive(max, wait, signal)).map((n): Notification => ({
        refs: n.refs,
        extend: (sec) => n.extend(sec),
        ack: async () => {
          acks.push({ keys: n.refs.map((r) => r.key), publishedBefore: n.refs.every((r) => published.has(r.key)) });
          await n.ack();
        },
      })),
    };
    return { ...s, reader, ...(notifications ? { notifications } : {}) };
  };
}

test('SQS notifications: objects put -> messages -> flows in Kafka; a slow object keeps its message invisible past the queue timeout; deleted only after Kafka acked', { skip: skipInfra, timeout: 180_000 }, async () => {
  const s3 = adminS3();
  const sqs = adminSqs();
  const bucket = uniqueName('sqs');
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, bucket);
  // The queue's own timeout (2 s) is far shorter than the slow object takes: only extension keeps it hidden.
  const queueUrl = await notifyingQueue(sqs, s3, bucket, 2);
  try {
    const config = await writeConfig({ prefix, sources: [awsSource(bucket, { sqsQueueUrl: queueUrl })], collector: { visibilitySeconds: 10 } });
    const published = new Set<string>();
    const acks: { keys: string[]; publishedBefore: boolean }[] = [];

    // 1. One slow object alone in the queue.
    const slowKey = awsKey('slow');
    const slowBody = awsFlowLog(20_000, 31);
    await putObject(s3, bucket, slowKey, slowBody);
    const holdMs = 6000;
    let listedAt = 0;
    let doneAt = 0;
    const c1 = await Collector.start({
      configFile: config, once: true, log: quiet(), sourceFactory: observedSources(new Set([slowKey]), holdMs, published, acks),
      onListed: (ref) => { if (ref.key === slowKey) listedAt = Date.now(); },
      onUnit: (ref) => { published.add(ref.key); if (ref.key === slowKey) doneAt = Date.now(); },
    });
    // Sample the queue while the slow object is in flight, from past the queue's 2 s timeout to its end.
    const samples: { at: number; visible: number; inFlight: number }[] = [];
    let finished = false;
    const run = c1.done.finally(() => { finished = true; });
    await until('the slow object to be received', () => listedAt > 0 || finished, 30_000);
    while (!finished && doneAt === 0) {
      if (Date.now() - listedAt > 2500) samples.push({ at: Date.now() - listedAt, ...(await queueDepth(sqs, queueUrl)) });
      await Promise.race([sleep(250), run]);
    }
    await run;
    await c1.stop();
    assert.equal(c1.failures, 0);
    assert.ok(listedAt > 0, 'the slow object was announced through the queue');
    assert.ok(doneAt - listedAt >= holdMs, `the slow object took ${doneAt - listedAt} ms`);
    const late = samples.filter((s) => s.at > 3000);
    assert.ok(late.length >= 5, `sampled the queue past its visibility timeout (${JSON.stringify(samples)})`);
    for (const s of late) assert.deepEqual([s.visible, s.inFlight], [0, 1], `${s.at} ms after receipt the message is still invisible: ${JSON.stringify(samples)}`);
    await until('the queue to be empty after the run', async () => { const d = await queueDepth(sqs, queueUrl); return d.visible === 0 && d.inFlight === 0; }, 10_000, 200);

    // 2. More objects, one of them not a flow log, announced together.
    const objects = new Map<string, Buffer>([[slowKey, slowBody]]);
    const add = async (name: string, body: Buffer) => { const key = awsKey(name); objects.set(key, body); await putObject(s3, bucket, key, body); return key; };
    await add('a', awsFlowLog(3000, 32));
    await add('sample', await readFile(fixturePath('parsers', 'aws/default-v2.log.gz')));
    const notFlow = await add('notflow', gzipSync('minutes of the meeting, not a flow log\n'));
    const c2 = await Collector.start({ configFile: config, once: true, log: quiet(), sourceFactory: observedSources(new Set(), 0, published, acks), onUnit: (ref) => published.add(ref.key) });
    await c2.done;
    await c2.stop();
    assert.equal(c2.failures, 0);

    const expected = new Map<string, number>();
    for (const [key, body] of objects) expected.set(key, key === notFlow ? 0 : await parsedCount(body, key));
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    const flows = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.reduce((n, m) => n + m.meta.records, 0) >= total);
    const per = perObject(flows);
    for (const [key, n] of expected) {
      if (n === 0) { assert.equal(per.get(key), undefined, `${key}: no flows`); continue; }
      assert.equal(per.get(key)?.records, n, `${key}: every flow`);
      assert.equal(per.get(key)?.repeats, 0, `${key}: once`);
    }
    const withObjects = acks.filter((a) => a.keys.length > 0);
    assert.deepEqual(withObjects.flatMap((a) => a.keys).sort(), [...objects.keys()].sort(), 'one deleted message per object');
    assert.ok(withObjects.every((a) => a.publishedBefore), 'every message was deleted only after its objects were acknowledged by Kafka');

    const letters = await readTopic(`${prefix}dead-letter`, (v) => DeadLetter.parse(JSON.parse(v.toString())), (all) => all.some((l) => l.kind === 'bad-object'));
    const bad = letters.find((l) => l.kind === 'bad-object');
    assert.ok(bad, 'the object that is not a flow log is dead-lettered');
    assert.deepEqual([bad.ref.cloud, bad.ref.bucket, bad.ref.key], ['aws', bucket, notFlow]);
    assert.match(bad.reason, /not a flow log|not an AWS flow-log header/);
    await until('the queue to be empty', async () => { const d = await queueDepth(sqs, queueUrl); return d.visible === 0 && d.inFlight === 0; }, 10_000, 200);
  } finally {
    await deleteQueue(sqs, queueUrl);
  }
});

test('SQS: a collector killed before the ack leaves the message to come back; the re-run publishes the object again under the same batch ids', { skip: skipInfra, timeout: 300_000 }, async () => {
  const s3 = adminS3();
  const sqs = adminSqs();
  const bucket = uniqueName('sqskill');
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, bucket);
  const queueUrl = await notifyingQueue(sqs, s3, bucket, 5);
  try {
    const big = awsKey('big');
    // As large as the SIGKILL test's: publishing it takes well over the time a reader needs to see its first batch.
    const lines = 400_000;
    await putObject(s3, bucket, big, awsFlowLog(lines, 41));
    const config = await writeConfig({ prefix, sources: [awsSource(bucket, { sqsQueueUrl: queueUrl })], collector: { workers: 1, inflightBatches: 2, batchRows: 2048, visibilitySeconds: 10 } });

    // A daemon, as in production: it joins the collectors' group before it owns the source.
    const first = spawnCollector(['--config', config]);
    try {
      await first.started;
      const seen = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.some((m) => m.meta.source.key === big), 60_000);
      assert.ok(seen.some((m) => m.meta.source.key === big), `the first collector published part of the object:\n${first.lines.slice(-10).join('\n')}`);
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    const before = perObject(await readTopic(`${prefix}flows`, decodeFlow, () => false, 3000)).get(big)?.records ?? 0;
    assert.ok(before > 0 && before < lines, `killed mid-object (${before} of ${lines} flows were out)`);

    // Not deleted: once the last extension runs out (10 s) the message is visible again.
    await until('the un-acked message to be visible again', async () => (await queueDepth(sqs, queueUrl)).visible >= 1, 40_000, 500);

    const second = await Collector.start({ configFile: config, once: true, log: quiet() });
    await second.done;
    await second.stop();
    assert.equal(second.failures, 0);

    const all = await readTopic(`${prefix}flows`, decodeFlow, (msgs) => (perObject(msgs).get(big)?.records ?? 0) >= lines, 60_000);
    const o = perObject(all).get(big);
    assert.ok(o, 'in Kafka');
    assert.equal(o.records, lines, 'every flow, counted once per batch id');
    assert.ok(o.repeats > 0, 'what the killed collector published was published again');
    assert.equal(o.conflicting, 0, 'under the same ids, with the same record counts');
    await until('the queue to be empty after the re-run', async () => { const d = await queueDepth(sqs, queueUrl); return d.visible === 0 && d.inFlight === 0; }, 10_000, 200);
    for (const l of first.lines) assert.ok(!l.includes(DUMMY_SECRET), `no secret in: ${l}`);
  } finally {
    await deleteQueue(sqs, queueUrl);
  }
});
