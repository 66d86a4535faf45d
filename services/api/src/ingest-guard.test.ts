import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { endpoints } from '@sightline/testkit';
import { ApiConfigSchema } from './config.js';
import { createLogger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { startApi, type ApiService } from './service.js';
import { hashToken } from './tokens.js';
import { dropTopic } from './testdata/kafka.js';

/**
 * What a hostile or broken client can do to the api before and while it reads a body (issue 10:
 * points 1, 3, 5 and 6), against a real Kafka: the token is checked from the headers alone,
 * inflations are capped, slow clients and connection floods are cut, failed tokens leave a log
 * line and a metric and are rate-limited per address, /metrics is not on the public port, and
 * envelopes with bad uids, names, addresses, times or epochs are refused with the field at fault.
 * Raw sockets are used where a client must be able to send headers without a body.
 */

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

interface Raw {
  status: number;
  head: string;
  body: string;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** The first response on the socket (headers and a Content-Length body), or status 0 if it closes first. */
function response(s: Socket): Promise<Raw> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (r: Raw) => {
      s.off('data', onData);
      resolve(r);
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end).toString('latin1');
      const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length - end - 4 < len) return;
      done({ status: Number(head.split(' ')[1]), head, body: buf.subarray(end + 4, end + 4 + len).toString('utf8') });
    };
    s.on('data', onData);
    s.once('close', () => done({ status: 0, head: '', body: buf.toString('utf8') }));
  });
}

const closed = (s: Socket) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

function head(tenant: string, headers: Record<string, string | number>): string {
  return [`POST /v1/tenants/${tenant}/kube-meta HTTP/1.1`, 'host: x', 'content-type: application/json', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
}

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const pod = (uid: string, ip: string) => ({ kind: 'Pod', uid, name: `web-${uid}`, namespace: 'shop', createdAt: '2025-03-10T08:00:00Z', podIPs: [ip], phase: 'Running' });

interface Harness {
  api: ApiService;
  metrics: ApiMetrics;
  port: number;
  logged: () => string;
  tokenA: string;
  tokenB: string;
  reader: string;
  post(body: string | Buffer, headers?: Record<string, string>, tenant?: string): Promise<{ status: number; json: { error?: string; message?: string }; headers: Headers }>;
}

async function harness(t: { after(fn: () => unknown): void }, overrides: Record<string, unknown>): Promise<Harness> {
  const run = randomBytes(4).toString('hex');
  const dir = mkdtempSync(path.join(tmpdir(), 'api-guard-'));
  const tokenA = randomBytes(24).toString('base64url');
  const tokenB = randomBytes(24).toString('base64url');
  const reader = randomBytes(24).toString('base64url');
  writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify({
    clusters: [
      { tokenSha256: hashToken(tokenA), tenant: 'acme', cluster: 'prod-eks' },
      { tokenSha256: hashToken(tokenB), tenant: 'globex', cluster: 'dev-gke' },
    ],
    readers: [{ tokenSha256: hashToken(reader), tenant: 'acme', name: 'dash' }],
  }));
  let logged = '';
  const log = createLogger({ level: 'debug', destination: new Writable({ write(c: Buffer, _e, cb) { logged += c.toString(); cb(); } }) });
  const metrics = new ApiMetrics(false);
  const config = ApiConfigSchema.parse({
    listen: { host: '127.0.0.1', port: 0, ...((overrides.listen as object) ?? {}) },
    metrics: { port: 0 },
    tokensFile: path.join(dir, 'tokens.json'),
    kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: `test-api-guard-${run}.` },
    ingest: overrides.ingest ?? {},
    auth: overrides.auth ?? {},
  });
  const api = await startApi(config, { log, metrics });
  t.after(async () => {
    await api.stop();
    await dropTopic(api.publisher.topic);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    api, metrics, port: api.port, logged: () => logged, tokenA, tokenB, reader,
    async post(body, headers = {}, tenant = 'acme') {
      const res = await fetch(`${api.url}/v1/tenants/${tenant}/kube-meta`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      return { status: res.status, json: (await res.json()) as { error?: string; message?: string }, headers: res.headers };
    },
  };
}

const value = async (m: { get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }> }, labels: Record<string, string> = {}) =>
  (await m.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);

test('ingest: 401 and 403 come from the headers alone, before any byte of the body; /metrics is not on the public port', { skip, timeout: 60_000 }, async (t) => {
  const h = await harness(t, {});
  // headers of a 64 KB gzip upload, and no body at all: the answer must not wait for it
  for (const [auth, status, error] of [
    [undefined, 401, 'unauthenticated'],
    [`Bearer ${randomBytes(24).toString('base64url')}`, 401, 'unauthenticated'],
    [`Bearer ${h.tokenB}`, 403, 'wrong-tenant'],
  ] as const) {
    const s = await open(h.port);
    const answer = response(s);
    s.write(head('acme', { 'content-encoding': 'gzip', 'content-length': 65536, ...(auth ? { authorization: auth } : {}) }));
    const r = await answer;
    assert.equal(r.status, status, `${auth ?? 'no token'}: ${r.head} ${r.body}`);
    assert.equal((JSON.parse(r.body) as { error: string }).error, error);
    assert.match(r.head, /connection: close/i, 'the unread body is not taken as the next request');
    s.destroy();
  }
  assert.equal(await value(h.metrics.inflating), 0);

  // the agent's path still works: headers first, the body after them
  const s = await open(h.port);
  const answer = response(s);
  const env = gzipSync(JSON.stringify({ cluster: 'prod-eks', resourceVersion: '1', sentAt: now(), full: true, epoch: 3, upserts: [{ at: now(), object: pod('u1', '10.0.0.1') }] }));
  s.write(head('acme', { 'content-encoding': 'gzip', 'content-length': env.length, authorization: `Bearer ${h.tokenA}` }));
  s.write(env);
  const ok = await answer;
  assert.equal(ok.status, 200, ok.body);
  s.destroy();

  // point 3: the public port has no /metrics, and says no tenant or cluster name; the metrics listener does
  const pub = await fetch(`${h.api.url}/metrics`);
  const text = await pub.text();
  assert.ok(pub.status === 404 || pub.status === 401, `GET /metrics on the public port: ${pub.status}`);
  for (const name of ['acme', 'prod-eks', 'globex']) assert.ok(!text.includes(name), `the public port names ${name}`);
  const own = await (await fetch(`${h.api.metricsUrl}/metrics`)).text();
  assert.match(own, /sightline_api_snapshots_total\{tenant="acme",cluster="prod-eks"\} 1/);
  assert.notEqual(new URL(h.api.metricsUrl).port, String(h.port));
});

test('ingest: gzip inflations are capped; over the cap and its queue the answer is 503 with Retry-After', { skip, timeout: 60_000 }, async (t) => {
  const h = await harness(t, { ingest: { maxConcurrentInflations: 1, maxQueuedInflations: 0 } });
  const env = (rv: string) => gzipSync(JSON.stringify({ cluster: 'prod-eks', resourceVersion: rv, sentAt: now(), full: false, epoch: 1 }));
  // one upload holds the only slot: its body arrives half, then waits
  const first = env('1');
  const s = await open(h.port);
  const firstAnswer = response(s);
  s.write(head('acme', { 'content-encoding': 'gzip', 'content-length': first.length, authorization: `Bearer ${h.tokenA}` }));
  s.write(first.subarray(0, 5));
  await until('the first upload inflating', async () => (await value(h.metrics.inflating)) === 1);
  const second = await h.post(env('2'), { 'content-encoding': 'gzip', authorization: `Bearer ${h.tokenA}` });
  assert.deepEqual([second.status, second.json.error, second.headers.get('retry-after')], [503, 'busy', '1']);
  // the rest of the first body arrives: it is answered, the slot is free again
  s.write(first.subarray(5));
  assert.equal((await firstAnswer).status, 200);
  s.destroy();
  await until('the slot released', async () => (await value(h.metrics.inflating)) === 0);
  const again = await h.post(env('3'), { 'content-encoding': 'gzip', authorization: `Bearer ${h.tokenA}` });
  assert.equal(again.status, 200, JSON.stringify(again.json));
});

test('slow clients: a stalled body gets 408, trickled headers are cut', { skip, timeout: 60_000 }, async (t) => {
  const h = await harness(t, { ingest: { bodyTimeoutMs: 200 }, listen: { headersTimeoutMs: 300, requestTimeoutMs: 2_000 } });
  // a body that stops after 10 of its 100 bytes
  const s = await open(h.port);
  const answer = response(s);
  s.write(head('acme', { 'content-length': 100, authorization: `Bearer ${h.tokenA}` }));
  s.write('{"cluster"');
  const r = await answer;
  assert.equal(r.status, 408, r.body);
  assert.match(r.body, /did not arrive within 200 ms/);
  await closed(s);

  // headers sent one byte at a time, for as long as the server lets them: it closes the connection
  const slow = await open(h.port);
  const text = head('acme', { authorization: `Bearer ${h.tokenA}`, 'content-length': 2 }) + 'x'.repeat(10_000);
  let i = 0;
  const drip = setInterval(() => { if (!slow.destroyed) slow.write(text[i++]!); }, 20);
  t.after(() => clearInterval(drip));
  await closed(slow);
  clearInterval(drip);
  assert.ok(i < text.length, 'closed before the headers were complete');
});

test('connections over listen.maxConnections are closed as they arrive; the others still answer', { skip, timeout: 60_000 }, async (t) => {
  const h = await harness(t, { listen: { maxConnections: 3 } });
  // three connections open: the fourth is closed at once, the three still answer
  const held = await Promise.all([open(h.port), open(h.port), open(h.port)]);
  const fourth = await open(h.port);
  const got = await response(fourth);
  assert.equal(got.status, 0, 'the fourth connection got no answer, only a close');
  const health = response(held[0]!);
  held[0]!.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
  assert.equal((await health).status, 200);
  for (const c of held) c.destroy();
});

test('failed authentication: logged without the token, counted by route and reason, rate-limited per address (429 before the token is looked at)', { skip, timeout: 60_000 }, async (t) => {
  const h = await harness(t, { auth: { failureBurst: 3, failuresPerSecond: 0.01 } });
  const wrong = randomBytes(24).toString('base64url');
  const q = await fetch(`${h.api.url}/v1/query/topn?dimension=dst_workload&from=2025-03-10T00:00:00Z&to=2025-03-10T01:00:00Z`, { headers: { authorization: `Bearer ${wrong}` } });
  assert.equal(q.status, 401);
  assert.equal((await h.post('{}', { authorization: `Bearer ${wrong}` })).status, 401);
  assert.equal((await h.post('{}', {})).status, 401);
  // the burst is spent: a good token from the same address now waits too
  const limited = await h.post(JSON.stringify({ cluster: 'prod-eks', resourceVersion: '1', sentAt: now(), full: false }), { authorization: `Bearer ${h.tokenA}` });
  assert.equal(limited.status, 429);
  assert.equal(limited.json.error, 'rate-limited');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  const limitedQuery = await fetch(`${h.api.url}/v1/query/topn?dimension=dst_workload`, { headers: { authorization: `Bearer ${h.reader}` } });
  assert.equal(limitedQuery.status, 429);

  assert.equal(await value(h.metrics.authFailures, { route: 'query', reason: 'unknown-token' }), 1);
  assert.equal(await value(h.metrics.authFailures, { route: 'ingest', reason: 'unknown-token' }), 1);
  assert.equal(await value(h.metrics.authFailures, { route: 'ingest', reason: 'missing-token' }), 1);
  assert.equal(await value(h.metrics.authFailures, { route: 'ingest', reason: 'rate-limited' }), 1);
  assert.equal(await value(h.metrics.authFailures, { route: 'query', reason: 'rate-limited' }), 1);
  const lines = h.logged().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).startsWith('auth: request refused'));
  assert.deepEqual(lines.map((l) => [l.client, l.route, l.reason]), [
    ['127.0.0.1', 'query', 'unknown-token'],
    ['127.0.0.1', 'ingest', 'unknown-token'],
    ['127.0.0.1', 'ingest', 'missing-token'],
  ]);
  for (const secret of [wrong, hashToken(wrong), h.tokenA, h.reader]) assert.ok(!h.logged().includes(secret), 'no token in the logs');
  const exposed = await (await fetch(`${h.api.metricsUrl}/metrics`)).text();
  assert.ok(!exposed.includes(wrong), 'no token in the metrics');
});

test('ingest sanity: uids, names and addresses as Kubernetes allows them, sentAt within the skew, epochs never backwards', { skip, timeout: 60_000 }, async (t) => {
  const h = await harness(t, {});
  const auth = { authorization: `Bearer ${h.tokenA}` };
  const base = { cluster: 'prod-eks', resourceVersion: '1', full: false };
  const bad = async (env: Record<string, unknown>, field: RegExp, error = 'bad-envelope') => {
    const r = await h.post(JSON.stringify({ ...base, sentAt: now(), ...env }), auth);
    assert.equal(r.status, 400, `${JSON.stringify(env).slice(0, 120)}: ${r.status} ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error, error);
    assert.match(r.json.message ?? '', field);
  };
  await bad({ upserts: [{ at: now(), object: pod('../../other-tenant/Pod/x', '10.0.0.1') }] }, /^upserts\.0\.object\.uid: /);
  await bad({ deletes: [{ at: now(), kind: 'Pod', uid: 'a/b', namespace: 'shop', name: 'web-1' }] }, /^deletes\.0\.uid: /);
  await bad({ upserts: [{ at: now(), object: { ...pod('u1', '10.0.0.1'), uid: 'x'.repeat(129) } }] }, /^upserts\.0\.object\.uid: /);
  await bad({ upserts: [{ at: now(), object: pod('u1', '10.0.0.300') }] }, /^upserts\.0\.object\.podIPs\.0: /);
  await bad({ upserts: [{ at: now(), object: { ...pod('u1', '10.0.0.1'), name: 'Web_1' } }] }, /^upserts\.0\.object\.name: /);
  await bad({ upserts: [{ at: now(), object: { ...pod('u1', '10.0.0.1'), namespace: 'shop/../x' } }] }, /^upserts\.0\.object\.namespace: /);
  await bad({ upserts: [{ at: now(), object: { kind: 'Node', uid: 'n1', name: 'ip-10-0-0-1.ec2.internal', createdAt: now(), addresses: [{ type: 'InternalIP', address: 'ip-10-0-0-1' }] } }] }, /^upserts\.0\.object\.addresses\.0\.address: /);
  await bad({ upserts: [{ at: now(), object: { kind: 'Service', uid: 's1', name: 'web', namespace: 'shop', createdAt: now(), clusterIPs: ['fd00::1', '10.96.0.10/32'] } }] }, /^upserts\.0\.object\.clusterIPs\.1: /);
  // sentAt: 10 min of clock skew ahead, 24 h behind (ingest.maxFutureSkewMs, maxPastSkewMs)
  const iso = (ms: number) => new Date(ms).toISOString();
  await bad({ sentAt: iso(Date.now() + 3_600_000) }, /^sentAt: .* ahead of the server's clock/, 'sent-at');
  await bad({ sentAt: iso(Date.now() - 25 * 3_600_000) }, /^sentAt: .* behind the server's clock/, 'sent-at');
  // nothing of the above reached Kafka
  assert.equal(await value(h.metrics.records), 0);

  // valid: IPv6, a dotted node name, a uuid
  const uid = '0f8c2d3e-6a1b-4c5d-9e8f-7a6b5c4d3e2f';
  const good = await h.post(JSON.stringify({ ...base, sentAt: now(), full: true, epoch: 10, upserts: [{ at: now(), object: { ...pod(uid, 'fd00:10:244::5'), node: 'ip-10-0-0-1.ec2.internal' } }] }), auth);
  assert.equal(good.status, 200, JSON.stringify(good.json));
  // epochs: the same or newer are fine, older is refused
  const back = await h.post(JSON.stringify({ ...base, sentAt: now(), epoch: 9 }), auth);
  assert.deepEqual([back.status, back.json.error], [400, 'epoch']);
  assert.match(back.json.message ?? '', /^epoch: 9 is older than the epoch 10/);
  assert.equal((await h.post(JSON.stringify({ ...base, sentAt: now(), epoch: 10 }), auth)).status, 200);
  assert.equal((await h.post(JSON.stringify({ ...base, sentAt: now(), epoch: 11 }), auth)).status, 200);
  assert.equal((await h.post(JSON.stringify({ ...base, sentAt: now(), epoch: 10 }), auth)).status, 400);
});
