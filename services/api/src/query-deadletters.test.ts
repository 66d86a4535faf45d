import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { endpoints } from '@sightline/testkit';
import { createLogger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { call, tokenIndex, TOKENS } from './query-contract.test.js';
import { DeadLetterBuffer, KafkaDeadLetterReader, readLetter } from './query-deadletters.js';
import type { DeadLetterView } from './query-schema.js';
import { startServer } from './server.js';

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

/** A letter as the collector writes it (services/collector/src/dead-letter.ts), raw bytes included. */
function collectorLetter(tenant: string, key: string, at: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    kind: 'bad-record',
    reason: `${key}: line 12: expected 14 fields, got 3`,
    stage: 'collector',
    ref: { cloud: 'aws', tenant, account: '123456789012', bucket: 'flow-logs', key, version: 'etag-1' },
    line: 12,
    raw: Buffer.from('secret-ish bytes of the bad line').toString('base64'),
    at,
    ...extra,
  });
}

const view = (at: number, object: string): DeadLetterView => ({
  at, kind: 'bad-object', reason: 'r', stage: 'collector', cloud: 'gcp', account: 'p', bucket: 'b', object, version: null, line: null, offset: 10, range: null, blocks: null,
});

test('dead letters: a collector letter is read without its bytes; anything else is not a letter', () => {
  const r = readLetter(collectorLetter('acme', 'AWSLogs/a.log.gz', '2026-12-02T06:00:00.000Z', { ref: { cloud: 'azure', tenant: 'acme', account: 's', bucket: 'c', key: 'PT1H.json', version: 'v', blocks: { first: 2, last: 5 } }, offset: 77 }));
  assert.ok(r);
  assert.equal(r.tenant, 'acme');
  assert.deepEqual(r.letter, {
    at: Date.parse('2026-12-02T06:00:00.000Z'), kind: 'bad-record', reason: 'AWSLogs/a.log.gz: line 12: expected 14 fields, got 3', stage: 'collector',
    cloud: 'azure', account: 's', bucket: 'c', object: 'PT1H.json', version: 'v', line: 12, offset: 77, range: null, blocks: { first: 2, last: 5 },
  });
  assert.ok(!('raw' in r.letter));
  for (const bad of ['not json', '{}', JSON.stringify({ kind: 'x', reason: 'y', stage: 'z', ref: {}, at: 'now' }), collectorLetter('acme', 'k', 'not a time')]) assert.equal(readLetter(bad), null, bad);
});

test('dead letters: the buffer keeps the newest letters of each tenant, answers newest first within the range, and forgets the least recent tenant past its bound', () => {
  const b = new DeadLetterBuffer(3, 2);
  for (let i = 0; i < 5; i++) b.add('acme', view(1000 * i, `a${i}`));
  b.add('globex', view(500, 'g0'));
  assert.deepEqual(b.list('acme', null, 10_000, 10).letters.map((l) => l.object), ['a4', 'a3', 'a2']);
  assert.deepEqual(b.list('acme', 3000, 10_000, 10).letters.map((l) => l.object), ['a4', 'a3']);
  assert.deepEqual(b.list('acme', null, 4000, 10).letters.map((l) => l.object), ['a3', 'a2']);
  assert.deepEqual(b.list('acme', null, 10_000, 1), { letters: [view(4000, 'a4')], truncated: true });
  assert.deepEqual(b.list('globex', null, 10_000, 10).letters.map((l) => l.object), ['g0']);
  assert.deepEqual(b.list('initech', null, 10_000, 10), { letters: [], truncated: false });
  // a third tenant: the one heard from least recently (acme) goes
  b.add('initech', view(1, 'i0'));
  assert.deepEqual(b.list('acme', null, 10_000, 10).letters, []);
  assert.equal(b.list('globex', null, 10_000, 10).letters.length, 1);
});

test('dead letters: GET /v1/deadletters reads the collector\'s Kafka topic, the read token\'s tenant only', { skip, timeout: 120_000 }, async (t) => {
  const brokers = endpoints().kafkaBrokers;
  const prefix = `hapi-dl-${randomBytes(4).toString('hex')}.`;
  const topic = `${prefix}dead-letter`;
  const kafka = new kafkajs.Kafka({ clientId: 'api-dead-letters-test', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  const sent = [
    ['acme', 'AWSLogs/1.log.gz', '2026-12-02T06:00:01.000Z'],
    ['globex', 'g/1.json', '2026-12-02T06:00:02.000Z'],
    ['acme', 'AWSLogs/2.log.gz', '2026-12-02T06:00:03.000Z'],
    ['acme', 'AWSLogs/3.log.gz', '2026-12-02T06:00:04.000Z'],
  ] as const;
  await producer.send({
    topic,
    acks: -1,
    messages: [
      ...sent.map(([tenant, key, at]) => ({ key: `${tenant}/123456789012`, value: collectorLetter(tenant, key, at) })),
      { key: 'x', value: 'not a letter' },
    ],
  });
  await producer.disconnect();

  const log = createLogger({ level: 'silent' });
  const reader = new KafkaDeadLetterReader({ brokers, clientId: 'api-dead-letters-test', topicPrefix: prefix }, log);
  t.after(() => reader.stop());
  reader.startInBackground(1000);
  // every letter read: the last one sent is in acme's list
  for (const deadline = Date.now() + 60_000; reader.buffer.list('acme', null, Date.now() + 1000, 10).letters.length < 3; ) {
    if (Date.now() > deadline) throw new Error('the reader did not read the letters within 60 s');
    await new Promise((ok) => setTimeout(ok, 50));
  }

  const tokens = tokenIndex();
  const srv = await startServer(
    { tokens, metrics: new ApiMetrics(false), log, publisher: { publish: async () => undefined } },
    { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, maxInflatedBytes: 1 << 20, ready: () => true, deadLetters: reader.buffer },
  );
  t.after(() => srv.close());
  const a = await call(srv.url, 'GET', '/v1/deadletters', TOKENS.readA);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const letters = a.body.letters as DeadLetterView[];
  assert.deepEqual(letters.map((l) => l.object), ['AWSLogs/3.log.gz', 'AWSLogs/2.log.gz', 'AWSLogs/1.log.gz']);
  assert.deepEqual([letters[0]!.line, letters[0]!.kind, letters[0]!.bucket, a.body.available, a.body.truncated], [12, 'bad-record', 'flow-logs', true, false]);
  assert.ok(!JSON.stringify(a.body).includes(Buffer.from('secret-ish bytes of the bad line').toString('base64')), 'the bytes are not returned');
  const b = await call(srv.url, 'GET', '/v1/deadletters', TOKENS.readB);
  assert.deepEqual((b.body.letters as DeadLetterView[]).map((l) => l.object), ['g/1.json']);
  // range and limit; relative times
  const ranged = await call(srv.url, 'GET', `/v1/deadletters?from=${Date.parse('2026-12-02T06:00:02.000Z')}&limit=1`, TOKENS.readA);
  assert.deepEqual([(ranged.body.letters as DeadLetterView[]).map((l) => l.object), ranged.body.truncated], [['AWSLogs/3.log.gz'], true]);
  const rel = await call(srv.url, 'GET', '/v1/deadletters?from=now-1h&to=now', TOKENS.readA);
  assert.equal(rel.status, 200);
  // tokens first; bad queries name the field
  assert.equal((await call(srv.url, 'GET', '/v1/deadletters', null)).status, 401);
  assert.equal((await call(srv.url, 'GET', '/v1/deadletters', TOKENS.ingestA)).status, 403);
  const bad = await call(srv.url, 'GET', '/v1/deadletters?limit=5000', TOKENS.readA);
  assert.deepEqual([bad.status, bad.body.path], [400, 'limit']);
  const badTenant = await call(srv.url, 'GET', '/v1/deadletters?tenant=globex', TOKENS.readA);
  assert.deepEqual([badTenant.status, badTenant.body.path], [400, 'tenant']);
});

test('dead letters: a server with no reader says so (available: false)', async (t) => {
  const tokens = tokenIndex();
  const srv = await startServer(
    { tokens, metrics: new ApiMetrics(false), log: createLogger({ level: 'silent' }), publisher: { publish: async () => undefined } },
    { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, maxInflatedBytes: 1 << 20, ready: () => true },
  );
  t.after(() => srv.close());
  const r = await call(srv.url, 'GET', '/v1/deadletters', TOKENS.readA);
  assert.deepEqual([r.status, r.body.available, r.body.letters], [200, false, []]);
});
