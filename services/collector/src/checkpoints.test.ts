import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Consumer } from 'kafkajs';
import { collectorTopicSpecs, ensureTopics } from '@sightline/bus';
import { createKafka, createProducer } from '@sightline/service-kit';
import { endpoints } from '@sightline/testkit';
import { CheckpointStore, readToEnd } from './checkpoints.js';
import { createLogger } from './log.js';
import { skipInfra, uniqueName } from './testdata/harness.js';

/** A fresh checkpoints topic (as the collector creates it) and a producer, removed afterwards. */
async function fixture(t: { after: (fn: () => Promise<void>) => void }) {
  let logs = '';
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { logs += c.toString(); cb(); } }) });
  const kafka = createKafka(endpoints().kafkaBrokers, 'checkpoints-test', log);
  const spec = collectorTopicSpecs({ prefix: `${uniqueName('cp')}.`, workPartitions: 2 }).checkpoints;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [spec]);
  const producer = createProducer(kafka);
  await producer.connect();
  t.after(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [spec.name] }).catch(() => undefined);
    await admin.disconnect();
  });
  return { kafka, producer, topic: spec.name, log, logs: () => logs };
}

test('checkpoints: a new store reads the topic to its end and keeps the latest cursor of each source', { skip: skipInfra, timeout: 60_000 }, async (t) => {
  const f = await fixture(t);
  const empty = new CheckpointStore(f.kafka, f.producer, f.topic, 'reader');
  assert.equal(await empty.load({ timeoutMs: 10_000 }), 0, 'an empty topic is read without a consumer');

  const writer = new CheckpointStore(f.kafka, f.producer, f.topic, 'writer');
  for (let i = 0; i < 5; i++) {
    await writer.commit('acme/aws/a', { after: `a-${i}` }, `key-a-${i}`);
    if (i % 2 === 0) await writer.commit('acme/gcp/b', { after: `b-${i}` });
  }
  await writer.commit('acme/azure/c', { after: 'c-0' });
  const reader = new CheckpointStore(f.kafka, f.producer, f.topic, 'reader');
  const t0 = Date.now();
  assert.equal(await reader.load({ timeoutMs: 30_000, log: f.log }), 3);
  t.diagnostic(`read to the end in ${Date.now() - t0} ms`);
  assert.deepEqual([reader.get('acme/aws/a'), reader.get('acme/gcp/b'), reader.get('acme/azure/c'), reader.get('acme/aws/none')], [{ after: 'a-4' }, { after: 'b-4' }, { after: 'c-0' }, undefined]);
});

test('checkpoints: a read abandoned while its consumer is still joining its group ends promptly, and the next read works', { skip: skipInfra, timeout: 60_000 }, async (t) => {
  const f = await fixture(t);
  const writer = new CheckpointStore(f.kafka, f.producer, f.topic, 'writer');
  await writer.commit('acme/aws/a', { after: 'a-1' });
  // Aborted when the group coordinator is found, so JoinGroup goes out next: the read is abandoned
  // with its join in flight, what start-up does to an attempt that overran.
  const ctl = new AbortController();
  let joinStarted = false;
  let disconnected = false;
  let fetchesAfter = 0;
  const onConsumer = (c: Consumer) => {
    c.on(c.events.REQUEST, (e) => {
      if (e.payload.apiName === 'GroupCoordinator' && !ctl.signal.aborted) { joinStarted = true; ctl.abort(); }
    });
    c.on(c.events.DISCONNECT, () => { disconnected = true; });
    c.on(c.events.FETCH_START, () => { if (disconnected) fetchesAfter++; });
  };
  const t0 = Date.now();
  await assert.rejects(readToEnd(f.kafka, f.topic, { timeoutMs: 30_000, signal: ctl.signal, log: f.log, onConsumer }), /reading .* to its end abandoned: its consumer group sightline-collector-reader-\S+ was still joining/);
  const took = Date.now() - t0;
  t.diagnostic(`abandoned read returned after ${took} ms`);
  assert.ok(joinStarted, 'aborted at the coordinator lookup');
  assert.ok(took < 12_000, `bounded by the disconnect limit (${took} ms)`);
  // A consumer disconnected mid-join must not finish the join and fetch on its own afterwards (kafkajs #1639).
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(disconnected, 'the reader disconnected');
  assert.equal(fetchesAfter, 0, 'no fetch after the disconnect');

  const again = await readToEnd(f.kafka, f.topic, { timeoutMs: 30_000, log: f.log });
  assert.equal(JSON.parse(again.get('acme/aws/a') ?? 'null').cursor.after, 'a-1');
});

test('checkpoints: a read that cannot finish in its time fails saying how far it got', { skip: skipInfra, timeout: 60_000 }, async (t) => {
  const f = await fixture(t);
  const writer = new CheckpointStore(f.kafka, f.producer, f.topic, 'writer');
  await writer.commit('acme/aws/a', { after: 'a-1' });
  await assert.rejects(readToEnd(f.kafka, f.topic, { timeoutMs: 1 }), (err: unknown) => err instanceof Error && err.message.startsWith(`reading ${f.topic} to its end took more than 1 ms: `));
});
