import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { endpoints, readToEnd } from '@sightline/testkit';
import { KubeMetaRecordSchema, partitionFor } from '@sightline/kube-model';
import { ApiConfigSchema } from './config.js';
import { createLogger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { startApi } from './service.js';
import { makeTestTls } from './testing/tls.js';
import { hashToken } from './tokens.js';

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

interface Reply {
  status: number;
  body: { error?: string; message?: string; records?: number; snapshotComplete?: boolean };
}

function post(url: string, ca: Buffer, body: Buffer | string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Reply['body'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(url: string, ca: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject).end();
  });
}

const pod = (uid: string, ip: string) => ({ kind: 'Pod', uid, name: `web-${uid}`, namespace: 'shop', createdAt: '2025-03-10T08:00:00Z', podIPs: [ip], phase: 'Running' });

test('ingest: 401 / 403 / 400 with reasons, accepted envelopes land on the compacted topic keyed per object', { skip, timeout: 120_000 }, async (t) => {
  const run = randomBytes(4).toString('hex');
  const prefix = `test-api-${run}.`;
  const tls = makeTestTls();
  t.after(() => tls.remove());
  const tokenA = randomBytes(24).toString('base64url');
  const tokenB = randomBytes(24).toString('base64url');
  const dir = mkdtempSync(path.join(tmpdir(), 'api-ingest-'));
  const tokensFile = path.join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify({ clusters: [
    { tokenSha256: hashToken(tokenA), tenant: 'acme', cluster: 'prod-eks' },
    { tokenSha256: hashToken(tokenB), tenant: 'globex', cluster: 'dev-gke' },
  ] }));
  let logged = '';
  const log = createLogger({ level: 'debug', destination: new Writable({ write(c: Buffer, _e, cb) { logged += c.toString(); cb(); } }) });
  const config = ApiConfigSchema.parse({ listen: { port: 0 }, metrics: { port: 0 }, tls: { certFile: tls.certFile, keyFile: tls.keyFile }, tokensFile, kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: prefix } });
  const api = await startApi(config, { log, metrics: new ApiMetrics(false) });
  const kafka = new kafkajs.Kafka({ clientId: `test-${run}`, brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(async () => {
    await api.stop();
    await admin.deleteTopics({ topics: [api.publisher.topic] }).catch(() => undefined);
    await admin.disconnect();
  });
  const url = `${api.url}/v1/tenants/acme/kube-meta`;
  const auth = (tok: string) => ({ authorization: `Bearer ${tok}` });
  // sentAt is checked against the server's clock (ingest.maxPastSkewMs); the objects' own times are not
  const base = { cluster: 'prod-eks', resourceVersion: '100', sentAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  const seenAt = '2025-03-10T12:00:00Z';

  // who are you: nothing about the payload is looked at before the token
  const noAuth = await post(url, tls.ca, '{', {});
  assert.deepEqual([noAuth.status, noAuth.body.error], [401, 'unauthenticated']);
  const unknown = await post(url, tls.ca, JSON.stringify({ ...base, full: false }), auth(randomBytes(24).toString('base64url')));
  assert.deepEqual([unknown.status, unknown.body.message], [401, 'unknown token']);

  // a real token, but of another tenant's cluster
  const otherTenant = await post(url, tls.ca, JSON.stringify({ ...base, full: false }), auth(tokenB));
  assert.deepEqual([otherTenant.status, otherTenant.body.error], [403, 'wrong-tenant']);
  // the tenant's token, but the payload names another cluster
  const otherCluster = await post(url, tls.ca, JSON.stringify({ ...base, cluster: 'dev-gke', full: false }), auth(tokenA));
  assert.deepEqual([otherCluster.status, otherCluster.body.error], [403, 'wrong-cluster']);

  // malformed: the reason names the field
  const badJson = await post(url, tls.ca, '{"cluster":', auth(tokenA));
  assert.deepEqual([badJson.status, badJson.body.error], [400, 'bad-json']);
  const badPod = await post(url, tls.ca, JSON.stringify({ ...base, full: false, upserts: [{ at: seenAt, object: { ...pod('u1', '10.0.0.1'), podIPs: '10.0.0.1' } }] }), auth(tokenA));
  assert.equal(badPod.status, 400);
  assert.match(badPod.body.message ?? '', /upserts\.0\.object\.podIPs/);
  const fullWithDeletes = await post(url, tls.ca, JSON.stringify({ ...base, full: true, deletes: [{ at: seenAt, kind: 'Pod', uid: 'x', name: 'x' }] }), auth(tokenA));
  assert.deepEqual([fullWithDeletes.status, fullWithDeletes.body.message], [400, 'deletes: a full snapshot carries no deletes']);

  // accepted: a two-part snapshot (the second gzipped), then a delta with a deletion
  const part0 = await post(url, tls.ca, JSON.stringify({ ...base, full: true, epoch: 5, part: { index: 0, last: false }, upserts: [{ at: seenAt, object: pod('u1', '10.0.0.1') }] }), auth(tokenA));
  assert.deepEqual([part0.status, part0.body.records, part0.body.snapshotComplete], [200, 1, false]);
  const part1 = await post(url, tls.ca, gzipSync(JSON.stringify({ ...base, full: true, epoch: 5, part: { index: 1, last: true, total: 2 }, upserts: [{ at: seenAt, object: pod('u2', '10.0.0.2') }] })), { ...auth(tokenA), 'content-encoding': 'gzip' });
  assert.deepEqual([part1.status, part1.body.records, part1.body.snapshotComplete], [200, 2, true]);
  const delta = await post(url, tls.ca, JSON.stringify({ ...base, resourceVersion: '101', full: false, epoch: 5, deletes: [{ at: '2025-03-10T12:00:05Z', kind: 'Pod', uid: 'u1', namespace: 'shop', name: 'web-u1' }] }), auth(tokenA));
  assert.deepEqual([delta.status, delta.body.records], [200, 2]);

  // what the enricher will read: the topic up to its end offsets now that every POST was answered
  // (a slow read fails as slow, naming the offsets; a record missing after that is lost)
  const got = (await readToEnd(api.publisher.topic, { kafka })).map((m) => ({
    key: m.key?.toString() ?? '', value: m.value ? KubeMetaRecordSchema.parse(JSON.parse(m.value.toString())) : null, partition: m.partition,
  }));
  assert.deepEqual(got.map((g) => [g.key, g.value?.type ?? 'tombstone']), [
    ['acme/prod-eks/Pod/u1', 'upsert'],
    ['acme/prod-eks/Pod/u2', 'upsert'],
    ['acme/prod-eks/~snapshot', 'snapshot'],
    ['acme/prod-eks/Pod/u1', 'delete'],
    ['acme/prod-eks/Pod/u1', 'tombstone'],
  ]);
  const { topics } = await admin.fetchTopicMetadata({ topics: [api.publisher.topic] });
  const expectedPartition = partitionFor('acme', 'prod-eks', topics[0]!.partitions.length);
  assert.ok(got.every((g) => g.partition === expectedPartition), 'every record of the cluster on its partition');
  const marker = got[2]!.value;
  assert.deepEqual(marker?.type === 'snapshot' ? [marker.epoch, marker.objects, marker.tenant] : null, [5, 2, 'acme']);
  const del = got[3]!.value;
  assert.equal(del?.type === 'delete' ? del.at : null, '2025-03-10T12:00:05Z');

  // operations: health, readiness, metrics; no token in any log line
  assert.equal((await get(`${api.url}/healthz`, tls.ca)).status, 200);
  assert.equal((await get(`${api.url}/readyz`, tls.ca)).status, 200);
  const metrics = await (await fetch(`${api.metricsUrl}/metrics`)).text();
  assert.match(metrics, /sightline_api_ingest_requests_total\{status="401"\} 2/);
  assert.match(metrics, /sightline_api_ingest_requests_total\{status="403"\} 2/);
  assert.match(metrics, /sightline_api_snapshots_total\{tenant="acme",cluster="prod-eks"\} 1/);
  assert.ok(logged.includes('token used for another tenant'), 'the 403 was logged');
  for (const secret of [tokenA, tokenB, hashToken(tokenA), hashToken(tokenB)]) assert.ok(!logged.includes(secret), 'no token or token hash in the logs');
});
