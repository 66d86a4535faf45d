import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { colIndex, FlowBatch, makeBatchMeta, type BatchMeta } from '@sightline/flow';
import type { FlowStore } from '@sightline/store';
import { createLogger } from './log.js';
import { ApiMetrics } from './metrics.js';
import type { QueryEvent } from './query-limiter.js';
import type { QueryRunner } from './query-runner.js';
import { startServer, type RunningServer } from './server.js';
import { hashToken, TokenIndex, TokenFileSchema } from './tokens.js';
import { rng } from '@sightline/testkit';

/**
 * The query API's behaviour over HTTP against one real engine: run by query-duckdb.test.ts and
 * query-clickhouse.test.ts (this file registers no test of its own). Expected answers are
 * computed here from the seeded rows, not by the store.
 */

export const HOUR = 3_600_000;
export const T0 = Date.UTC(2025, 2, 10, 8); // on an hour

export interface Row {
  start: number;
  src_ns: string;
  dst_ns: string;
  dst_wl: string | null;
  dst_pod: string | null;
  dst_port: number;
  src_addr: string;
  dst_addr: string;
  packets: number;
  bytes: number;
  action: string;
}


/** `n` rows over [t0, t0 + span); tenant B's rows use namespaces A never has (`b-…`) and some A has. */
export function seedRows(n: number, seed: number, t0: number, span: number, namespaces: string[]): Row[] {
  const r = rng(seed);
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const ns = namespaces[Math.floor(r() * namespaces.length)]!;
    const wl = r() < 0.1 ? null : `${ns}-wl${Math.floor(r() * 6)}`;
    rows.push({
      start: t0 + Math.floor((r() * span) / 1000) * 1000,
      src_ns: namespaces[Math.floor(r() * namespaces.length)]!,
      dst_ns: ns,
      dst_wl: wl,
      dst_pod: wl === null ? null : `${wl}-${Math.floor(r() * 4)}`,
      dst_port: [443, 80, 5432, 53][Math.floor(r() * 4)]!,
      src_addr: `10.1.${Math.floor(r() * 200)}.${Math.floor(r() * 250)}`,
      dst_addr: `10.2.${Math.floor(r() * 200)}.${Math.floor(r() * 250)}`,
      packets: 1 + Math.floor(r() * 50),
      bytes: 40 + Math.floor(r() * r() * 100_000),
      // stored in lower case, as the parsers normalize it; queries below ask in the clouds' capitals
      action: r() < 0.05 ? 'reject' : 'accept',
    });
  }
  return rows;
}

export function toBatch(rows: Row[], cluster: string): FlowBatch {
  const b = new FlowBatch(rows.length);
  const S = (n: string) => b.strings(colIndex(n));
  const N = (n: string) => b.numbers(colIndex(n));
  rows.forEach((x, i) => {
    S('cloud')[i] = 'aws';
    S('account')[i] = '123456789012';
    S('src_k8s_cluster')[i] = cluster;
    S('dst_k8s_cluster')[i] = cluster;
    S('src_k8s_namespace')[i] = x.src_ns;
    S('dst_k8s_namespace')[i] = x.dst_ns;
    S('dst_k8s_workload')[i] = x.dst_wl;
    S('dst_k8s_workload_kind')[i] = x.dst_wl === null ? null : 'Deployment';
    S('dst_k8s_pod')[i] = x.dst_pod;
    S('src_addr')[i] = x.src_addr;
    S('dst_addr')[i] = x.dst_addr;
    S('action')[i] = x.action;
    S('direction')[i] = 'ingress';
    N('src_port')[i] = 40000 + (i % 20000);
    N('dst_port')[i] = x.dst_port;
    N('protocol')[i] = x.dst_port === 53 ? 17 : 6;
    N('packets')[i] = x.packets;
    N('bytes')[i] = x.bytes;
    N('start')[i] = x.start;
    N('end')[i] = x.start + 60_000;
  });
  b.length = rows.length;
  return b;
}

export function metaFor(tenant: string, key: string, records: number): BatchMeta {
  return makeBatchMeta({
    tenant,
    cloud: 'aws',
    account: '123456789012',
    source: { container: 'flow-logs', key, version: null, range: null },
    seq: 0,
    records,
    createdAt: '2025-03-10T10:00:00.000Z',
  });
}

/** The expected top-N from the rows themselves: value desc, then key asc (nulls last), like the store. */
export function expectedTop(rows: Row[], key: (r: Row) => string | number | null, value: (r: Row) => number, n: number): { k: string | number | null; v: number }[] {
  const m = new Map<string | number | null, number>();
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0) + value(r));
  return [...m]
    .map(([k, v]) => ({ k, v }))
    .sort((a, b) => b.v - a.v || (a.k === null ? 1 : b.k === null ? -1 : a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .slice(0, n);
}

export interface Seeded {
  a: Row[];
  b: Row[];
}

export const A_NAMESPACES = ['shop', 'payments', 'search'];
export const B_NAMESPACES = ['shop', 'b-vault', 'b-ledger'];

/** Writes tenant A's and B's rows (two batches each) through the store's writeBatch. */
export async function seed(store: FlowStore, run: string): Promise<Seeded> {
  const a = seedRows(3000, 1, T0, 2 * HOUR, A_NAMESPACES);
  const b = seedRows(3000, 2, T0, 2 * HOUR, B_NAMESPACES);
  for (const [tenant, rows, cluster] of [['acme', a, 'prod-a'], ['globex', b, 'prod-b']] as const) {
    for (const [i, part] of [rows.slice(0, 1500), rows.slice(1500)].entries()) {
      const batch = toBatch(part, cluster);
      assert.deepEqual(await store.writeBatch(metaFor(tenant, `${run}/${tenant}/${i}`, batch.length), batch), { written: true });
    }
  }
  return { a, b };
}

export const TOKENS = {
  readA: randomBytes(24).toString('base64url'),
  readB: randomBytes(24).toString('base64url'),
  ingestA: randomBytes(24).toString('base64url'),
};

export function tokenIndex(): TokenIndex {
  return new TokenIndex(
    TokenFileSchema.parse({
      clusters: [{ tokenSha256: hashToken(TOKENS.ingestA), tenant: 'acme', cluster: 'prod-a' }],
      readers: [
        { tokenSha256: hashToken(TOKENS.readA), tenant: 'acme', name: 'dash-a' },
        { tokenSha256: hashToken(TOKENS.readB), tenant: 'globex' },
      ],
    }),
  );
}

export interface Published {
  calls: number;
}

/** An HTTP server with the query routes on `runner`; the ingest publisher only counts calls (it must see none here). */
export async function serve(runner: QueryRunner, timeoutMs: number, published: Published = { calls: 0 }): Promise<RunningServer> {
  const log = createLogger({ level: 'silent' });
  const tokens = tokenIndex();
  return startServer(
    { tokens, metrics: new ApiMetrics(false), log, publisher: { publish: async () => void published.calls++ } },
    {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1 << 20,
      maxInflatedBytes: 1 << 20,
      ready: () => true,
      query: { tokens, runner, timeoutMs, log, maxBodyBytes: 64 * 1024 },
    },
  );
}

export interface Reply {
  status: number;
  body: Record<string, unknown> & { rollup?: string; rows?: { key: Record<string, unknown>; value: number }[]; points?: { t: number; value: number }[]; path?: string; message?: string };
}

export async function call(base: string, method: 'GET' | 'POST', route: string, token: string | null, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + route, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}

/** Registers the contract tests for one engine. `open` gives a runner on a fresh, migrated, seeded store. */
export function queryContract(name: string, open: () => Promise<{ runner: QueryRunner; seeded: Seeded; close: () => Promise<void> }>): void {
  test(`${name}: top-N and time series answer what the rows say, with the rollup used`, async (t) => {
    const { runner, seeded, close } = await open();
    const srv = await serve(runner, 30_000);
    t.after(async () => {
      await srv.close();
      await close();
    });
    const q = { from: new Date(T0).toISOString(), to: T0 + 2 * HOUR };

    // top workloads by bytes over two whole hours: the 1h rollup answers
    const top = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.readA, { ...q, dimensions: ['dst_namespace', 'dst_workload'], limit: 7 });
    assert.equal(top.status, 200, JSON.stringify(top.body));
    assert.equal(top.body.rollup, '1h');
    const want = expectedTop(seeded.a, (r) => `${r.dst_ns}|${r.dst_wl ?? '∅'}`, (r) => r.bytes, 7);
    assert.deepEqual(
      top.body.rows!.map((r) => ({ k: `${String(r.key.dst_namespace)}|${r.key.dst_workload === null ? '∅' : String(r.key.dst_workload)}`, v: r.value })),
      want,
    );

    // same question from a minute past the hour: only the 1m rollup is exact
    const from1m = T0 + 60_000;
    // (by service port, the rollups' port: the lower of the two, here the seeded server port)
    const top1m = await call(srv.url, 'GET', `/v1/query/topn?from=${from1m}&to=${T0 + 2 * HOUR}&dimension=service_port&metric=packets&limit=10`, TOKENS.readA);
    assert.equal(top1m.status, 200, JSON.stringify(top1m.body));
    assert.equal(top1m.body.rollup, '1m');
    const inRange = seeded.a.filter((r) => r.start >= from1m);
    assert.deepEqual(top1m.body.rows!.map((r) => ({ k: r.key.service_port, v: r.value })), expectedTop(inRange, (r) => r.dst_port, (r) => r.packets, 10));
    // dst_port is not a rollup key (a reply's is the client's ephemeral port): the raw table answers it, with the same numbers here
    const byDst = await call(srv.url, 'GET', `/v1/query/topn?from=${from1m}&to=${T0 + 2 * HOUR}&dimension=dst_port&metric=packets&limit=10`, TOKENS.readA);
    assert.equal(byDst.status, 200, JSON.stringify(byDst.body));
    assert.equal(byDst.body.rollup, 'raw');
    assert.deepEqual(byDst.body.rows!.map((r) => ({ k: r.key.dst_port, v: r.value })), expectedTop(inRange, (r) => r.dst_port, (r) => r.packets, 10));

    // pods are not a rollup key: the raw table answers; filter with GET where.<dim>
    const pods = await call(srv.url, 'GET', `/v1/query/topn?from=${T0}&to=${T0 + HOUR}&dimension=dst_pod&metric=flows&where.dst_namespace=shop&where.dst_namespace=search&limit=3`, TOKENS.readA);
    assert.equal(pods.status, 200, JSON.stringify(pods.body));
    assert.equal(pods.body.rollup, 'raw');
    const podRows = seeded.a.filter((r) => r.start < T0 + HOUR && (r.dst_ns === 'shop' || r.dst_ns === 'search'));
    assert.deepEqual(pods.body.rows!.map((r) => ({ k: r.key.dst_pod, v: r.value })), expectedTop(podRows, (r) => r.dst_pod, () => 1, 3));

    // time series of flows per 5 minutes, REJECTs only: the 5m rollup; buckets from the rows
    const ts = await call(srv.url, 'POST', '/v1/query/timeseries', TOKENS.readA, { ...q, step: '5m', metric: 'flows', filters: [{ dimension: 'action', op: 'eq', value: 'REJECT' }] });
    assert.equal(ts.status, 200, JSON.stringify(ts.body));
    assert.equal(ts.body.rollup, '5m');
    assert.equal(ts.body.step, 300);
    const buckets = new Map<number, number>();
    for (const r of seeded.a) if (r.action === 'reject') buckets.set(r.start - (r.start % 300_000), (buckets.get(r.start - (r.start % 300_000)) ?? 0) + 1);
    assert.deepEqual(ts.body.points, [...buckets].sort((x, y) => x[0] - y[0]).map(([t0, value]) => ({ t: t0, value })));

    // forcing the raw table gives the same series
    const tsRaw = await call(srv.url, 'POST', '/v1/query/timeseries', TOKENS.readA, { ...q, step: 300, metric: 'flows', resolution: 'raw', filters: [{ dimension: 'action', op: 'in', values: ['Reject'] }] });
    assert.equal(tsRaw.body.rollup, 'raw');
    assert.deepEqual(tsRaw.body.points, ts.body.points);

    // no step: the resolution's own bucket
    const tsAuto = await call(srv.url, 'GET', `/v1/query/timeseries?from=${T0}&to=${T0 + 2 * HOUR}&resolution=1h&metric=bytes`, TOKENS.readA);
    assert.equal(tsAuto.status, 200, JSON.stringify(tsAuto.body));
    assert.equal(tsAuto.body.rollup, '1h');
    const perHour = [0, 1].map((h) => seeded.a.filter((r) => r.start >= T0 + h * HOUR && r.start < T0 + (h + 1) * HOUR).reduce((s, r) => s + r.bytes, 0));
    assert.deepEqual(tsAuto.body.points, [{ t: T0, value: perHour[0] }, { t: T0 + HOUR, value: perHour[1] }]);
  });

  test(`${name}: a tenant's token never returns another tenant's rows`, async (t) => {
    const { runner, seeded, close } = await open();
    const srv = await serve(runner, 30_000);
    t.after(async () => {
      await srv.close();
      await close();
    });
    const range = { from: T0, to: T0 + 2 * HOUR };
    // filters that match only B's rows: A's token gets nothing, in every table
    for (const resolution of ['auto', 'raw', '1m', '1h']) {
      const onlyB = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.readA, {
        ...range,
        resolution,
        dimensions: ['dst_namespace'],
        filters: [{ dimension: 'dst_namespace', op: 'in', values: ['b-vault', 'b-ledger'] }],
      });
      assert.equal(onlyB.status, 200, JSON.stringify(onlyB.body));
      assert.deepEqual(onlyB.body.rows, [], resolution);
      const cluster = await call(srv.url, 'POST', '/v1/query/timeseries', TOKENS.readA, { ...range, resolution, step: 3600, filters: [{ dimension: 'dst_cluster', op: 'eq', value: 'prod-b' }] });
      assert.deepEqual(cluster.body.points, [], resolution);
    }
    // a namespace both tenants have: A sees exactly its own total
    const shop = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.readA, { ...range, metric: 'bytes', dimensions: ['dst_cluster'], filters: [{ dimension: 'dst_namespace', op: 'eq', value: 'shop' }] });
    assert.deepEqual(shop.body.rows, [{ key: { dst_cluster: 'prod-a' }, value: seeded.a.filter((r) => r.dst_ns === 'shop').reduce((s, r) => s + r.bytes, 0) }]);
    // and B's token sees B's, not A's
    const b = await call(srv.url, 'GET', `/v1/query/topn?from=${T0}&to=${T0 + 2 * HOUR}&dimension=dst_namespace&metric=flows`, TOKENS.readB);
    assert.deepEqual(new Set(b.body.rows!.map((r) => r.key.dst_namespace)), new Set(B_NAMESPACES));
    assert.equal(b.body.rows!.reduce((s, r) => s + r.value, 0), seeded.b.length);
    // the body cannot name a tenant
    const named = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.readA, { ...range, dimensions: ['dst_namespace'], tenant: 'globex' });
    assert.equal(named.status, 400);
    assert.match(named.body.message!, /tenant/);
  });

  test(`${name}: tokens: none or unknown 401, an ingest token cannot read, a read token cannot ingest`, async (t) => {
    const { runner, close } = await open();
    const published: Published = { calls: 0 };
    const srv = await serve(runner, 30_000, published);
    t.after(async () => {
      await srv.close();
      await close();
    });
    const body = { from: T0, to: T0 + HOUR, dimensions: ['dst_namespace'] };
    assert.equal((await call(srv.url, 'POST', '/v1/query/topn', null, body)).status, 401);
    assert.equal((await call(srv.url, 'POST', '/v1/query/topn', randomBytes(24).toString('base64url'), body)).status, 401);
    const ingest = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.ingestA, body);
    assert.equal(ingest.status, 403);
    assert.equal(ingest.body.error, 'ingest-token');
    // token checked before the query: a bad query with no token is still 401
    assert.equal((await call(srv.url, 'POST', '/v1/query/topn', null, { nonsense: true })).status, 401);
    const envelope = { cluster: 'prod-a', epoch: 1, full: false, upserts: [], deletes: [] };
    const readIngest = await call(srv.url, 'POST', '/v1/tenants/acme/kube-meta', TOKENS.readA, envelope);
    assert.equal(readIngest.status, 401);
    assert.equal(published.calls, 0);
  });

  test(`${name}: every hostile value is a 400 naming the field, never a 500; SQL-looking values match nothing`, async (t) => {
    const { runner, close } = await open();
    const srv = await serve(runner, 30_000);
    t.after(async () => {
      await srv.close();
      await close();
    });
    await hostileCheck(srv.url);
  });

  test(`${name}: bad queries get 400 with the path at fault`, async (t) => {
    const { runner, close } = await open();
    const srv = await serve(runner, 30_000);
    t.after(async () => {
      await srv.close();
      await close();
    });
    const ok = { from: T0, to: T0 + HOUR, dimensions: ['dst_namespace'] };
    const cases: [string, unknown, string][] = [
      ['topn', { ...ok, dimensions: ['dst_colour'] }, 'dimensions.0'],
      ['topn', { ...ok, limit: 1001 }, 'limit'],
      ['topn', { ...ok, dimensions: [] }, 'dimensions'],
      ['topn', { ...ok, from: 'yesterday' }, 'from'],
      ['topn', { ...ok, from: T0 + 1 }, 'from'],
      ['topn', { ...ok, to: T0 }, 'to'],
      ['topn', { ...ok, metric: 'latency' }, 'metric'],
      ['topn', { ...ok, filters: [{ dimension: 'dst_port', op: 'eq', value: 'https' }] }, 'filters.0.value'],
      ['topn', { ...ok, filters: [{ dimension: 'dst_namespace', op: 'like', value: 'x%' }] }, 'filters.0.op'],
      ['topn', { ...ok, from: T0 + 60_000, resolution: '1h' }, 'resolution'],
      ['topn', { ...ok, dimensions: ['dst_pod'], resolution: '5m' }, 'resolution'],
      ['timeseries', { from: T0, to: T0 + HOUR, step: '7x' }, 'step'],
      ['timeseries', { from: T0, to: T0 + 30 * 24 * HOUR, step: 60 }, 'step'],
    ];
    for (const [kind, body, path] of cases) {
      const r = await call(srv.url, 'POST', `/v1/query/${kind}`, TOKENS.readA, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.path, path, JSON.stringify(r.body));
      assert.ok(r.body.message!.startsWith(`${path}:`), r.body.message);
    }
    const notJson = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.readA, '{"from":');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error, 'bad-json');
    const get = await call(srv.url, 'GET', `/v1/query/topn?from=${T0}&to=${T0 + HOUR}&dimension=dst_namespace&limit=abc`, TOKENS.readA);
    assert.equal(get.status, 400);
    assert.equal(get.body.path, 'limit');
  });
}

/**
 * Hostile values at both routes, POST and GET: each must be a 400 naming the field (`path`, and
 * the message starting with it), never a 500. The expected path is the field at fault.
 */
export const HOSTILE: { kind: 'topn' | 'timeseries'; body?: unknown; get?: string; path: string }[] = (() => {
  const ok = { from: T0, to: T0 + HOUR, dimensions: ['dst_namespace'] };
  const ts = { from: T0, to: T0 + HOUR };
  const eq = (dimension: string, value: unknown) => ({ ...ok, filters: [{ dimension, op: 'eq', value }] });
  const topn = (body: unknown, path: string) => ({ kind: 'topn' as const, body, path });
  const series = (body: unknown, path: string) => ({ kind: 'timeseries' as const, body, path });
  const get = (kind: 'topn' | 'timeseries', q: string, path: string) => ({ kind, get: q, path });
  const base = `from=${T0}&to=${T0 + HOUR}`;
  return [
    // huge, negative, non-integer and NaN-like numbers
    series({ ...ts, step: 9.3e12 }, 'step'),
    series({ ...ts, step: 1e308 }, 'step'),
    series({ ...ts, step: -60 }, 'step'),
    series({ ...ts, step: 0 }, 'step'),
    series({ ...ts, step: 1.5 }, 'step'),
    series({ ...ts, step: 'NaN' }, 'step'),
    series({ ...ts, step: '99999999d' }, 'step'),
    series({ ...ts, step: '1e3s' }, 'step'),
    topn({ ...ok, limit: 1e20 }, 'limit'),
    topn({ ...ok, limit: -1 }, 'limit'),
    topn({ ...ok, limit: 2.5 }, 'limit'),
    topn({ ...ok, limit: 'NaN' }, 'limit'),
    topn({ ...ok, from: 1e20 }, 'from'),
    topn({ ...ok, from: -3_600_000 }, 'from'),
    topn({ ...ok, from: 'NaN' }, 'from'),
    topn({ ...ok, from: '0001-01-01T00:00:00Z' }, 'from'),
    topn({ ...ok, to: 9.3e15 }, 'to'),
    topn({ ...ok, to: '9999-12-31T23:59:59Z' }, 'to'),
    series({ ...ts, to: 4_294_967_296_000 }, 'to'),
    topn(eq('dst_port', 1e20), 'filters.0.value'),
    topn(eq('dst_port', 65_536), 'filters.0.value'),
    topn(eq('src_port', -1), 'filters.0.value'),
    topn(eq('dst_port', 80.5), 'filters.0.value'),
    topn(eq('protocol', 256), 'filters.0.value'),
    topn({ ...ok, filters: [{ dimension: 'dst_port', op: 'in', values: [443, 1e20] }] }, 'filters.0.values.1'),
    // overlong strings and lists
    topn(eq('dst_namespace', 'x'.repeat(5000)), 'filters.0.value'),
    topn({ ...ok, filters: [{ dimension: 'dst_namespace', op: 'in', values: Array.from({ length: 1001 }, (_, i) => `ns${i}`) }] }, 'filters.0.values'),
    topn({ ...ok, filters: Array.from({ length: 33 }, () => ({ dimension: 'action', op: 'eq', value: 'ACCEPT' })) }, 'filters'),
    topn({ ...ok, dimensions: ['dst_namespace', 'dst_workload', 'dst_pod', 'dst_port', 'src_port'] }, 'dimensions'),
    // SQL-looking names where only known names are allowed
    topn({ ...ok, dimensions: ['dst_namespace; DROP TABLE flows'] }, 'dimensions.0'),
    topn({ ...ok, resolution: "1h' OR 1=1 --" }, 'resolution'),
    topn({ ...ok, metric: 'bytes) FROM flows --' }, 'metric'),
    topn({ ...ok, filters: [{ dimension: 'tenant', op: 'eq', value: 'globex' }] }, 'filters.0.dimension'),
    // wrong types and shapes
    topn({ ...ok, dimensions: 'dst_namespace' }, 'dimensions'),
    topn({ ...ok, metric: { $ne: 1 } }, 'metric'),
    topn({ ...ok, filters: { dimension: 'action' } }, 'filters'),
    topn({ ...ok, filters: [{ dimension: 'action', op: 'eq', value: ['ACCEPT'] }] }, 'filters.0.value'),
    topn({ ...ok, filters: [{ dimension: 'action', op: 'eq', value: 'ALLOW' }] }, 'filters.0.value'),
    topn({ ...ok, filters: [{ dimension: 'direction', op: 'in', values: ['ingress', 'inbound'] }] }, 'filters.0.values.1'),
    topn({ ...ok, from: true }, 'from'),
    topn({ ...ok, tenant: 'globex' }, 'tenant'),
    topn(JSON.parse(`{"from":${T0},"to":${T0 + HOUR},"dimensions":["dst_namespace"],"__proto__":{"limit":5}}`) as unknown, '__proto__'),
    topn([], '(request)'),
    topn(null, '(request)'),
    topn('"a string"', '(request)'),
    // the same through the query string
    get('timeseries', `${base}&step=9300000000000`, 'step'),
    get('timeseries', `${base}&step=NaN`, 'step'),
    get('topn', `${base}&dimension=dst_namespace&limit=100000000000000000000`, 'limit'),
    get('topn', `${base}&dimension=dst_namespace&limit=-5`, 'limit'),
    get('topn', `${base}&dimension=dst_namespace&where.dst_port=100000000000000000000`, 'filters.0.values.0'),
    get('topn', `${base}&dimension=dst_namespace&where.dst_port=99999`, 'filters.0.values.0'),
    get('topn', `${base}&dimension=dst_namespace&where.protocol=300`, 'filters.0.values.0'),
    get('topn', `from=99999999999999&to=${T0 + HOUR}&dimension=dst_namespace`, 'from'),
    get('topn', `${base}&dimension=dst_namespace&where.dst_namespace=${'y'.repeat(2000)}`, 'filters.0.values.0'),
    get('topn', `${base}&dimension=dst_namespace%27%3B%20DROP%20TABLE%20flows`, 'dimensions.0'),
    get('topn', `${base}&dimension=dst_namespace&where.nope=1`, 'filters.0.dimension'),
    get('topn', `${base}&dimension=dst_namespace&tenant=globex`, 'tenant'),
  ];
})();

/** SQL-looking values are values: 200 with nothing matched, and the tables still there. */
export const SQL_VALUES = ["' OR 1=1 --", "shop'; DROP TABLE flows; --", '\\\'', 'a\u0000b', "\\' OR ''='", '${tenant}', '$1', '?', "'||(SELECT tenant FROM flows LIMIT 1)||'"];

async function hostileCheck(url: string): Promise<void> {
  const bad: string[] = [];
  for (const c of HOSTILE) {
    const r = c.get !== undefined
      ? await call(url, 'GET', `/v1/query/${c.kind}?${c.get}`, TOKENS.readA)
      : await call(url, 'POST', `/v1/query/${c.kind}`, TOKENS.readA, typeof c.body === 'string' ? c.body : JSON.stringify(c.body));
    // every case is tried, and the wrong ones listed together
    if (r.status !== 400 || r.body.path !== c.path || !r.body.message?.startsWith(`${c.path}:`))
      bad.push(`${r.status} ${c.kind} ${(c.get ?? JSON.stringify(c.body)).slice(0, 120)} -> ${JSON.stringify(r.body).slice(0, 200)}`);
  }
  assert.deepEqual(bad, []);
  for (const v of SQL_VALUES) {
    for (const resolution of ['auto', 'raw']) {
      const r = await call(url, 'POST', '/v1/query/topn', TOKENS.readA, { from: T0, to: T0 + 2 * HOUR, resolution, dimensions: ['dst_namespace'], filters: [{ dimension: 'dst_namespace', op: 'in', values: [v, 'nope'] }] });
      assert.equal(r.status, 200, `${JSON.stringify(v)}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(r.body.rows, [], JSON.stringify(v));
    }
  }
  const still = await call(url, 'POST', '/v1/query/topn', TOKENS.readA, { from: T0, to: T0 + 2 * HOUR, resolution: 'raw', dimensions: ['dst_namespace'], metric: 'flows' });
  assert.equal(still.status, 200, JSON.stringify(still.body));
  assert.equal(still.body.rows!.reduce((s, r) => s + r.value, 0), 3000);
}

/** An impossible deadline: the time limit answers 504 and the runner keeps answering afterwards. */
export async function deadlineCheck(runner: QueryRunner): Promise<void> {
  const strict = await serve(runner, 1);
  const normal = await serve(runner, 30_000);
  const events: QueryEvent[] = [];
  const off = runner.limiter.on((e) => events.push(e));
  try {
    // the raw table grouped by both addresses: real work for the engine, far beyond 1 ms
    const heavy = { from: T0, to: T0 + 2 * HOUR, dimensions: ['src_addr', 'dst_addr', 'dst_pod'], resolution: 'raw', limit: 1000 };
    for (let i = 0; i < 3; i++) {
      const r = await call(strict.url, 'POST', '/v1/query/topn', TOKENS.readA, heavy);
      assert.equal(r.status, 504, JSON.stringify(r.body));
      assert.equal(r.body.error, 'timeout');
      assert.match(r.body.message!, /time limit of 1 ms/);
    }
    // a query that got its 504 does not run on: each one was stopped in the engine (or never started), and its slot freed once it had
    await whenLimiter(runner, () => runner.limiter.stats().running === 0);
    const stops = events.filter((e) => e.type === 'cancelled');
    assert.ok(stops.length > 0 && stops.every((e) => e.type === 'cancelled' && e.reason === 'deadline'), JSON.stringify(events));
    assert.equal(events.filter((e) => e.type === 'stopped').length, stops.length);
    if (runner.engine === 'duckdb') assert.ok(events.some((e) => e.type === 'stopped' && e.interrupted === true), JSON.stringify(events));
    assert.equal(events.filter((e) => e.type === 'admitted').length, events.filter((e) => e.type === 'released').length);
    const after = await call(normal.url, 'POST', '/v1/query/topn', TOKENS.readA, { ...heavy, limit: 5 });
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.rows!.length, 5);
  } finally {
    off();
    await strict.close();
    await normal.close();
  }
}

/** Resolves once `pred` holds, checked at every limiter event (no polling, no sleep). */
export function whenLimiter(runner: QueryRunner, pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (pred()) return resolve();
    const stop = runner.limiter.on(() => {
      if (pred()) {
        stop();
        resolve();
      }
    });
  });
}

/** Tenant A's heavy query: the raw table grouped by both addresses and the pod (every row its own group). */
export const HEAVY = { from: T0, to: T0 + 2 * HOUR, dimensions: ['src_addr', 'dst_addr', 'dst_pod'], resolution: 'raw', limit: 1000 };
/** Tenant B's cheap query: one rollup row per namespace. */
export const CHEAP = { from: T0, to: T0 + 2 * HOUR, dimensions: ['dst_namespace'], metric: 'flows' };

/**
 * Tenant A sends `n` heavy queries and abandons them; tenant B's cheap query must be admitted at
 * once while A's are waiting (B's admission event: not queued, A's queue non-empty), and every one
 * of A's must end without running on (a waiting one dropped from the queue, a running one stopped
 * in the engine). `stillRunning` asks the engine which of the cancelled statements it still runs.
 * The runner's limits must queue all of A's (queuePerTenant >= n) and leave B a slot (perTenant < concurrent).
 */
export async function fairnessCheck(runner: QueryRunner, n: number, stillRunning?: (queryIds: string[]) => Promise<string[]>): Promise<void> {
  const srv = await serve(runner, 300_000);
  const events: QueryEvent[] = [];
  const off = runner.limiter.on((e) => events.push(e));
  const count = (type: QueryEvent['type'], tenant: string) => events.filter((e) => e.type === type && e.tenant === tenant).length;
  try {
    const post = (token: string, body: unknown, signal?: AbortSignal) =>
      fetch(`${srv.url}/v1/query/topn`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
    const abandon = Array.from({ length: n }, () => new AbortController());
    const send = (ac: AbortController) => post(TOKENS.readA, HEAVY, ac.signal).then((r) => r.status, () => 'aborted' as const);
    // A's first queries take its slots, so the test knows which requests are running; the rest wait behind them
    const perTenant = runner.limiter.limits.perTenant;
    const sent = abandon.slice(0, perTenant).map(send);
    await whenLimiter(runner, () => count('admitted', 'acme') === perTenant);
    sent.push(...abandon.slice(perTenant).map(send));
    await whenLimiter(runner, () => count('admitted', 'acme') + count('queued', 'acme') === n);
    assert.ok(runner.limiter.stats('acme').waiting > 0, 'A has queries waiting');

    const b = await post(TOKENS.readB, CHEAP);
    assert.equal(b.status, 200, await b.clone().text());
    const bRows = ((await b.json()) as { rows: { key: { dst_namespace: string } }[] }).rows;
    assert.deepEqual(new Set(bRows.map((r) => r.key.dst_namespace)), new Set(B_NAMESPACES));
    const admittedB = events.find((e): e is Extract<QueryEvent, { type: 'admitted' }> => e.type === 'admitted' && e.tenant === 'globex');
    assert.ok(admittedB, 'B admitted');
    assert.equal(admittedB.waited, false, 'B admitted at once, not queued behind A');
    assert.ok(admittedB.othersWaiting > 0, `B admitted while A's queue is non-empty (${admittedB.othersWaiting} waiting)`);

    // A's clients go away, the running ones first (alone, so the engine is stopped mid-statement and
    // not after a burst of 200 closes): every query leaves the queue unrun or is stopped in the engine
    for (const ac of abandon.slice(0, perTenant)) ac.abort();
    await whenLimiter(runner, () => count('stopped', 'acme') >= 1);
    for (const ac of abandon) ac.abort();
    await whenLimiter(runner, () => count('dropped', 'acme') + count('released', 'acme') === n && runner.limiter.stats().running === 0);
    await Promise.all(sent);
    const dropped = events.filter((e) => e.type === 'dropped' && e.tenant === 'acme');
    assert.ok(dropped.length > 0 && dropped.every((e) => e.type === 'dropped' && e.reason === 'client-gone'), 'waiting queries dropped as their clients left');
    assert.equal(count('admitted', 'acme') + dropped.length, n, 'a dropped query never ran');
    const cancelled = events.filter((e): e is Extract<QueryEvent, { type: 'cancelled' }> => e.type === 'cancelled' && e.tenant === 'acme');
    assert.ok(cancelled.length > 0, 'the running queries of A were stopped in the engine');
    assert.ok(cancelled.every((e) => e.reason === 'client-gone'));
    assert.equal(count('stopped', 'acme'), cancelled.length, 'the engine confirmed every stop before the slot was freed');
    if (runner.engine === 'duckdb') {
      // a statement that finished just as its client left is not interrupted; the running ones are
      assert.ok(events.some((e) => e.type === 'stopped' && e.interrupted === true), `DuckDB statements ended by the interrupt: ${JSON.stringify(events.filter((e) => e.type === 'stopped'))}`);
    }
    if (stillRunning) {
      const ids = cancelled.map((e) => e.queryId!);
      assert.equal(ids.length, new Set(ids).size);
      assert.deepEqual(await stillRunning(ids), [], 'no cancelled statement still runs in the engine');
    }
    assert.deepEqual(runner.limiter.stats(), { running: 0, waiting: 0 });
    // the slots and connections are whole again
    const after = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.readA, { ...CHEAP, limit: 2 });
    assert.equal(after.status, 200, JSON.stringify(after.body));
  } finally {
    off();
    await srv.close();
  }
}

/** Heavy rows for tenant A, written straight by the engine's own SQL (millions of rows in seconds, not through writeBatch). */
export function heavyRowsSql(n: number, table: string, engine: 'duckdb' | 'clickhouse'): string {
  const i = engine === 'duckdb' ? 'i' : 'number';
  const ts = engine === 'duckdb' ? `make_timestamp(${T0 * 1000}::BIGINT + (i % 7200) * 1000000)` : `toDateTime(${T0 / 1000} + (number % 7200), 'UTC')`;
  const str = (x: string) => (engine === 'duckdb' ? `CAST(${x} AS VARCHAR)` : `toString(${x})`);
  const div = (a: string, b: number) => (engine === 'duckdb' ? `(${a} // ${b})` : `intDiv(${a}, ${b})`);
  const from = engine === 'duckdb' ? `range(${n}) t(i)` : `numbers(${n})`;
  return `INSERT INTO ${table} (tenant, batch_id, row_no, ts, src_addr, dst_addr, dst_k8s_pod, dst_k8s_namespace, bytes, packets)
    SELECT 'acme', 'heavy', ${i}, ${ts}, concat('10.1.', ${str(`${i} % 251`)}, '.', ${str(`${div(i, 251)} % 251`)}),
      concat('10.2.', ${str(`${i} % 241`)}, '.', ${str(`${div(i, 241)} % 241`)}), concat('pod-', ${str(i)}), 'shop', 100, 1 FROM ${from}`;
}

// ---------------------------------------------------------------------------------------------
// The console's queries (issue 14): edges, flows with a cursor, the new filter operators and
// dimensions, relative times. Their rows live in a window of their own (T1), after the rows above.

export const T1 = T0 + 4 * HOUR;

/** A record by field name (times in epoch ms); fields not named stay null. */
type Rec = Record<string, string | number | null>;

function batchOf(recs: readonly Rec[]): FlowBatch {
  const b = new FlowBatch(recs.length);
  recs.forEach((r, i) => {
    for (const [k, v] of Object.entries(r)) {
      if (v === null) continue;
      if (typeof v === 'string') b.strings(colIndex(k))[i] = v;
      else b.numbers(colIndex(k))[i] = v;
    }
  });
  b.length = recs.length;
  return b;
}

const ends = (side: 'src' | 'dst', cluster: string, namespace: string, kind: string, workload: string): Rec => ({
  [`${side}_k8s_kind`]: 'pod',
  [`${side}_k8s_cluster`]: cluster,
  [`${side}_k8s_namespace`]: namespace,
  [`${side}_k8s_workload_kind`]: kind,
  [`${side}_k8s_workload`]: workload,
  [`${side}_k8s_pod`]: `${workload}-0`,
});

/** Acme's console rows: every cloud, internet and unattributed peers (IPv4 and IPv6), the clouds' network fields. */
export function consoleRows(): Rec[] {
  const t = (min: number) => T1 + min * 60_000;
  const aws = { cloud: 'aws', format: 'aws-vpc-text', account: '123456789012', vpc_id: 'vpc-1', subnet_id: 'subnet-1', interface_id: 'eni-1', region: 'eu-west-1', az_id: 'euw1-az1', action: 'accept', direction: 'egress', protocol: 6 };
  return [
    // 0: cart to the internet (IPv4)
    { ...aws, ...ends('src', 'prod-a', 'shop', 'Deployment', 'cart'), src_addr: '10.0.1.5', dst_addr: '93.184.216.34', src_port: 40001, dst_port: 443, packets: 10, bytes: 1000, start: t(0), end: t(1) },
    // 1: the internet (IPv6) to cart
    { ...aws, ...ends('dst', 'prod-a', 'shop', 'Deployment', 'cart'), src_addr: '2a00:1450:4001::1', dst_addr: '10.0.1.5', src_port: 52000, dst_port: 443, packets: 20, bytes: 2000, start: t(1), end: t(2), direction: 'ingress' },
    // 2: GCP, reported by the destination: region, network and subnet are the reporter's (dest) side
    {
      cloud: 'gcp', format: 'gcp-vpc-json', account: 'acme-web', reporter: 'DEST', location: 'europe-west2-a', subnetwork_name: 'web-subnet',
      src_instance_region: 'europe-west1', dest_instance_region: 'europe-west2', src_vpc_vpc_name: 'vpc-src', dest_vpc_vpc_name: 'web-vpc',
      ...ends('src', 'prod-g', 'web', 'Deployment', 'front'), src_addr: '10.4.0.12', dst_addr: '10.4.0.99', src_port: 43000, dst_port: 8080, protocol: 6, packets: 30, bytes: 3000, start: t(2), end: t(3),
    },
    // 3: Azure: a ULA source (unattributed, not the internet) to a StatefulSet; VNet and subnet from the resource id, the MAC as interface
    {
      cloud: 'azure', format: 'azure-vnet', account: 'sub-1', resource_id: '/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/sub1', mac: '000D3A000001',
      ...ends('dst', 'prod-z', 'api', 'StatefulSet', 'db'), src_addr: 'fd00::5', dst_addr: '10.8.0.4', src_port: 41000, dst_port: 5432, protocol: 6, packets: 40, bytes: 4000, start: t(3), end: t(4), action: 'reject', direction: 'ingress',
    },
    // 4: a public IPv6 source (2001:db8::/32 is not listed as private) to an IPv4-mapped destination (not the internet)
    { ...aws, src_addr: '2001:db8:1::7', dst_addr: '::ffff:10.1.2.3', src_port: 1234, dst_port: 53, protocol: 17, packets: 5, bytes: 500, start: t(4), end: t(5) },
    // 5..24: cart to shopfront's checkout, same minute for several rows (ties broken by batch and row)
    ...Array.from({ length: 20 }, (_, i): Rec => ({
      ...aws, ...ends('src', 'prod-a', 'shop', 'Deployment', 'cart'), ...ends('dst', 'prod-a', 'shopfront', 'Deployment', 'checkout'),
      src_addr: '10.0.1.5', dst_addr: `10.0.2.${i + 1}`, src_port: 45000 + i, dst_port: 8443, packets: 1, bytes: 100 + i, start: t(10 + Math.floor(i / 4)), end: t(11 + Math.floor(i / 4)),
    })),
  ];
}

/** Globex's rows in the same window: another cluster, an internet peer of its own. */
export function consoleRowsB(): Rec[] {
  return [
    { cloud: 'aws', account: '999', vpc_id: 'vpc-b', ...ends('src', 'prod-b', 'vault', 'Deployment', 'secret'), src_addr: '10.9.0.1', dst_addr: '8.8.8.8', dst_port: 53, protocol: 17, packets: 1, bytes: 77, start: T1 + 60_000, end: T1 + 120_000, action: 'accept' },
    { cloud: 'aws', account: '999', vpc_id: 'vpc-b', ...ends('dst', 'prod-b', 'vault', 'Deployment', 'secret'), src_addr: '93.184.216.34', dst_addr: '10.9.0.1', dst_port: 443, protocol: 6, packets: 1, bytes: 88, start: T1 + 60_000, end: T1 + 120_000, action: 'accept' },
  ];
}

/** Writes the console rows: acme's in three batches (so ties cross batches), globex's in one. Returns acme's batch ids per row. */
export async function seedConsole(store: FlowStore, run: string): Promise<{ a: Rec[]; b: Rec[]; batchOfRow: string[]; rowNo: number[] }> {
  const a = consoleRows();
  const b = consoleRowsB();
  const parts = [a.slice(0, 5), a.slice(5, 15), a.slice(15)];
  const batchOfRow: string[] = [];
  const rowNo: number[] = [];
  for (const [i, part] of parts.entries()) {
    const meta = metaFor('acme', `${run}/console/${i}`, part.length);
    assert.deepEqual(await store.writeBatch(meta, batchOf(part)), { written: true });
    part.forEach((_, k) => {
      batchOfRow.push(meta.id);
      rowNo.push(k);
    });
  }
  assert.deepEqual(await store.writeBatch(metaFor('globex', `${run}/console/b`, b.length), batchOf(b)), { written: true });
  return { a, b, batchOfRow, rowNo };
}

type Edge = { src: string; dst: string; flows: number; packets: number; bytes: number };
type Node = { id: string; type: string; cluster: string | null; namespace: string | null; kind: string | null; workload: string | null };

/** The console contract for one engine: `open` gives a runner and the writer on a fresh, migrated store. */
export function consoleContract(name: string, open: () => Promise<{ runner: QueryRunner; writer: FlowStore; close: () => Promise<void> }>): void {
  test(`${name}: console: edges (split peers from raw, merged from the rollup), flows with a cursor, new filters and dimensions, relative times; tenants apart`, async (t) => {
    const { runner, writer, close } = await open();
    const srv = await serve(runner, 30_000);
    t.after(async () => {
      await srv.close();
      await close();
    });
    const run = randomBytes(3).toString('hex');
    const { a, b, batchOfRow, rowNo } = await seedConsole(writer, run);
    const range = { from: T1, to: T1 + HOUR };
    const bytesOf = (rows: Rec[]) => rows.reduce((s, r) => s + (r.bytes as number), 0);

    // --- edges, peers split: internet (public v4 and v6) and unattributed (private, ULA, mapped) apart; the raw table answers
    const split = await call(srv.url, 'POST', '/v1/query/edges', TOKENS.readA, { ...range });
    assert.equal(split.status, 200, JSON.stringify(split.body));
    assert.equal(split.body.rollup, 'raw');
    const cart = 'w:prod-a/shop/Deployment/cart';
    const checkout = 'w:prod-a/shopfront/Deployment/checkout';
    const edges = (split.body.edges as Edge[]).map((e) => [e.src, e.dst, e.bytes, e.flows]);
    assert.deepEqual(edges, [
      ['unattributed', 'w:prod-z/api/StatefulSet/db', 4000, 1],
      ['w:prod-g/web/Deployment/front', 'unattributed', 3000, 1],
      [cart, checkout, bytesOf(a.slice(5)), 20],
      ['internet', cart, 2000, 1],
      [cart, 'internet', 1000, 1],
      ['internet', 'unattributed', 500, 1],
    ]);
    const nodes = new Map((split.body.nodes as Node[]).map((n) => [n.id, n]));
    assert.deepEqual(nodes.get(cart), { id: cart, type: 'workload', cluster: 'prod-a', namespace: 'shop', kind: 'Deployment', workload: 'cart' });
    assert.deepEqual(nodes.get('internet'), { id: 'internet', type: 'internet', cluster: null, namespace: null, kind: null, workload: null });
    assert.equal(nodes.size, 6);
    assert.equal(split.body.truncated, false);

    // --- merged peers over whole hours: the 1h rollup answers, the same edges with one unattributed node
    const merged = await call(srv.url, 'GET', `/v1/query/edges?from=${T1}&to=${T1 + HOUR}&peers=merged&metric=flows&limit=3`, TOKENS.readA);
    assert.equal(merged.status, 200, JSON.stringify(merged.body));
    assert.equal(merged.body.rollup, '1h');
    assert.deepEqual((merged.body.edges as Edge[]).map((e) => [e.src, e.dst, e.flows, e.bytes]), [
      [cart, checkout, 20, bytesOf(a.slice(5))],
      // ties on flows: by the keys, absent ones last (the top 3 of 6)
      [cart, 'unattributed', 1, 1000],
      ['w:prod-g/web/Deployment/front', 'unattributed', 1, 3000],
    ]);
    assert.equal(merged.body.truncated, true);
    assert.ok((merged.body.nodes as Node[]).every((n) => n.type !== 'internet'));
    // the raw table gives the merged edges too, equal to the rollup's
    const mergedRaw = await call(srv.url, 'POST', '/v1/query/edges', TOKENS.readA, { ...range, peers: 'merged', resolution: 'raw', metric: 'flows', limit: 3 });
    assert.deepEqual(mergedRaw.body.edges, merged.body.edges);
    // grouped by namespace, filtered to accepted traffic of one cluster
    const ns = await call(srv.url, 'POST', '/v1/query/edges', TOKENS.readA, { ...range, group: 'namespace', peers: 'merged', filters: [{ dimension: 'src_cluster', op: 'eq', value: 'prod-a' }] });
    assert.equal(ns.body.rollup, '1h');
    assert.deepEqual((ns.body.edges as Edge[]).map((e) => [e.src, e.dst, e.bytes]), [
      ['n:prod-a/shop', 'n:prod-a/shopfront', bytesOf(a.slice(5))],
      ['n:prod-a/shop', 'unattributed', 1000],
    ]);

    // --- filter operators on topn (raw where the field is no rollup key)
    const top = async (dimensions: string[], filters: unknown[], extra: Record<string, unknown> = {}) => {
      const r = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.readA, { ...range, dimensions, filters, limit: 50, ...extra });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.rows!.map((x) => [...Object.values(x.key), x.value]);
    };
    // ne: absent values are not equal to a value
    assert.deepEqual(await top(['dst_namespace'], [{ dimension: 'dst_namespace', op: 'ne', value: 'shopfront' }]), [[null, 4500], ['api', 4000], ['shop', 2000]]);
    assert.deepEqual(await top(['dst_namespace'], [{ dimension: 'dst_namespace', op: 'ne', value: null }]), [['api', 4000], ['shopfront', bytesOf(a.slice(5))], ['shop', 2000]]);
    assert.deepEqual(await top(['dst_namespace'], [{ dimension: 'dst_namespace', op: 'not_in', values: ['shopfront', null] }]), [['api', 4000], ['shop', 2000]]);
    assert.deepEqual(await top(['dst_namespace'], [{ dimension: 'dst_namespace', op: 'prefix', value: 'shop' }]), [['shopfront', bytesOf(a.slice(5))], ['shop', 2000]]);
    // the same on the rollup (not_in and prefix on rollup keys; the port the rollups keep is the service port): equal answers
    for (const f of [{ dimension: 'dst_namespace', op: 'not_in', values: ['shopfront', null] }, { dimension: 'dst_namespace', op: 'prefix', value: 'shop' }, { dimension: 'service_port', op: 'ne', value: 8443 }]) {
      const raw = await top(['dst_namespace'], [f], { resolution: 'raw' });
      const rolled = await top(['dst_namespace'], [f], { resolution: '1h' });
      assert.deepEqual(rolled, raw, JSON.stringify(f));
    }
    // CIDR on both address families
    assert.deepEqual(await top(['dst_addr'], [{ dimension: 'dst_addr', op: 'cidr', value: '10.0.2.0/30' }]), [['10.0.2.3', 102], ['10.0.2.2', 101], ['10.0.2.1', 100]]);
    assert.deepEqual(await top(['src_addr'], [{ dimension: 'src_addr', op: 'cidr', value: '2a00:1450::/32' }]), [['2a00:1450:4001::1', 2000]]);
    assert.deepEqual(await top(['src_addr'], [{ dimension: 'src_addr', op: 'cidr', value: 'fc00::/7' }]), [['fd00::5', 4000]]);
    assert.deepEqual(await top(['dst_addr'], [{ dimension: 'dst_addr', op: 'cidr', value: '::ffff:10.0.0.0/104' }]), [['::ffff:10.1.2.3', 500]]);
    assert.deepEqual(await top(['src_addr'], [{ dimension: 'src_addr', op: 'cidr', value: '2001:db8:1::7' }]), [['2001:db8:1::7', 500]]);
    // every IPv4 address, and no IPv6 one (the mapped address is IPv6 text)
    const all4 = await top(['dst_addr'], [{ dimension: 'dst_addr', op: 'cidr', value: '0.0.0.0/0' }]);
    assert.deepEqual(all4.map((x) => x[0]).sort(), [...new Set(a.map((r) => r.dst_addr as string).filter((x) => !x.includes(':')))].sort());
    const all6 = await top(['src_addr'], [{ dimension: 'src_addr', op: 'cidr', value: '::/0' }]);
    assert.deepEqual(all6.map((x) => x[0]).sort(), ['2001:db8:1::7', '2a00:1450:4001::1', 'fd00::5']);
    // GET forms of the operators
    const g = await call(srv.url, 'GET', `/v1/query/topn?from=${T1}&to=${T1 + HOUR}&dimension=dst_addr&where.dst_addr.cidr=10.0.2.0/31&where.dst_port.ne=53`, TOKENS.readA);
    assert.deepEqual(g.body.rows!.map((x) => x.key.dst_addr), ['10.0.2.1']);

    // --- the record's network dimensions, one per cloud's own fields
    const notDns = [{ dimension: 'dst_port', op: 'not_in', values: [8443, 53] }];
    const vnet = '/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1';
    assert.deepEqual(await top(['cloud', 'region', 'zone', 'network'], notDns), [
      ['azure', null, null, vnet, 4000],
      ['aws', 'eu-west-1', 'euw1-az1', 'vpc-1', 3000],
      ['gcp', 'europe-west2', 'europe-west2-a', 'web-vpc', 3000],
    ]);
    assert.deepEqual(await top(['cloud', 'subnet', 'interface'], notDns), [
      ['azure', `${vnet}/subnets/sub1`, '000D3A000001', 4000],
      ['aws', 'subnet-1', 'eni-1', 3000],
      ['gcp', 'web-subnet', null, 3000],
    ]);
    assert.deepEqual(await top(['network'], [{ dimension: 'cloud', op: 'eq', value: 'GCP' }]), [['web-vpc', 3000]]);
    assert.deepEqual(await top(['region'], [{ dimension: 'region', op: 'prefix', value: 'europe' }]), [['europe-west2', 3000]]);

    // --- flows: pages of 4, newest first, stable on (ts, batch, row); every row once; both ends and the cloud fields
    const order = a
      .map((r, i) => ({ i, ts: r.start as number, batch: batchOfRow[i]!, row: rowNo[i]! }))
      .sort((x, y) => y.ts - x.ts || (x.batch < y.batch ? 1 : x.batch > y.batch ? -1 : y.row - x.row));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/v1/query/flows?from=${T1}&to=${T1 + HOUR}&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await call(srv.url, 'GET', q, TOKENS.readA);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      const rows = page.body.rows as unknown as { id: string; ts: number; src: { addr: string } }[];
      seen.push(...rows.map((r) => r.id));
      cursor = page.body.next as string | null;
      pages++;
      assert.ok(pages <= 10, 'pagination ends');
    } while (cursor !== null);
    assert.deepEqual(seen, order.map((o) => `${o.batch}:${o.row}`));
    assert.equal(pages, Math.ceil(a.length / 4));
    // oldest first, filtered, one page: the fields of the record
    const asc = await call(srv.url, 'POST', '/v1/query/flows', TOKENS.readA, { ...range, order: 'asc', limit: 2, filters: [{ dimension: 'cloud', op: 'in', values: ['gcp', 'azure'] }] });
    assert.equal(asc.status, 200, JSON.stringify(asc.body));
    const [gcp, azure] = asc.body.rows as unknown as { id: string; ts: number; cloud: string; src: { addr: string; port: number; k8s: Record<string, string | null> }; dst: { addr: string; k8s: Record<string, string | null> }; bytes: number; start: number; fields: Record<string, unknown> }[];
    assert.deepEqual([gcp!.cloud, gcp!.ts, gcp!.start, gcp!.src.addr, gcp!.src.port, gcp!.src.k8s.workload, gcp!.src.k8s.pod, gcp!.dst.k8s.cluster, gcp!.bytes], ['gcp', T1 + 2 * 60_000, T1 + 2 * 60_000, '10.4.0.12', 43000, 'front', 'front-0', null, 3000]);
    assert.equal(gcp!.fields.reporter, 'DEST');
    assert.equal(gcp!.fields.dest_vpc_vpc_name, 'web-vpc');
    assert.equal(gcp!.fields.end, undefined, 'top-level fields are not repeated');
    assert.equal(azure!.fields.mac, '000D3A000001');
    assert.equal(asc.body.next, null);
    // a cursor of another order, or made up: 400 naming it
    const bad = await call(srv.url, 'GET', `/v1/query/flows?from=${T1}&to=${T1 + HOUR}&order=asc&cursor=${encodeURIComponent('bm90LWpzb24')}`, TOKENS.readA);
    assert.deepEqual([bad.status, bad.body.path], [400, 'cursor']);

    // --- relative times: now-<n>d/d to now covers the window; the answer carries the resolved range
    const before = Date.now();
    const days = Math.ceil((before - T1) / 86_400_000) + 1;
    const rel = await call(srv.url, 'GET', `/v1/query/topn?from=now-${days}d/d&to=now&dimension=dst_cluster&metric=flows&where.dst_namespace=shopfront`, TOKENS.readA);
    const after = Date.now();
    assert.equal(rel.status, 200, JSON.stringify(rel.body));
    assert.deepEqual(rel.body.rows, [{ key: { dst_cluster: 'prod-a' }, value: 20 }]);
    const to = rel.body.to as number;
    assert.ok(to >= Math.floor(before / 1000) * 1000 && to <= after, `to ${to}`);
    assert.equal(rel.body.from, Math.floor((to - days * 86_400_000) / 86_400_000) * 86_400_000);
    const relEdges = await call(srv.url, 'POST', '/v1/query/edges', TOKENS.readA, { from: 'now-1h', to: 'now' });
    assert.equal(relEdges.status, 200, JSON.stringify(relEdges.body));

    // --- tenants apart: globex sees its own map and flows only, whatever it asks
    const bEdges = await call(srv.url, 'POST', '/v1/query/edges', TOKENS.readB, { ...range });
    assert.deepEqual((bEdges.body.edges as Edge[]).map((e) => [e.src, e.dst, e.bytes]), [
      ['internet', 'w:prod-b/vault/Deployment/secret', 88],
      ['w:prod-b/vault/Deployment/secret', 'internet', 77],
    ]);
    const bFlows = await call(srv.url, 'POST', '/v1/query/flows', TOKENS.readB, { ...range, limit: 100 });
    assert.deepEqual((bFlows.body.rows as unknown as { bytes: number }[]).map((r) => r.bytes).sort(), [77, 88]);
    // acme's cursor in globex's hands: still only globex's rows
    const aPage = await call(srv.url, 'POST', '/v1/query/flows', TOKENS.readA, { ...range, order: 'asc', limit: 1 });
    const stolen = await call(srv.url, 'POST', '/v1/query/flows', TOKENS.readB, { ...range, order: 'asc', cursor: aPage.body.next });
    assert.equal(stolen.status, 200);
    assert.ok((stolen.body.rows as unknown as { account: string }[]).every((r) => r.account === '999'));
    // filters that match only the other tenant's rows give nothing
    const onlyB = await call(srv.url, 'POST', '/v1/query/edges', TOKENS.readA, { ...range, filters: [{ dimension: 'src_cluster', op: 'prefix', value: 'prod-b' }] });
    assert.deepEqual(onlyB.body.edges, []);
    const onlyBFlows = await call(srv.url, 'POST', '/v1/query/flows', TOKENS.readA, { ...range, filters: [{ dimension: 'dst_addr', op: 'cidr', value: '8.8.8.0/24' }] });
    assert.deepEqual(onlyBFlows.body.rows, []);
    assert.equal(b.length, 2);
  });

  test(`${name}: console: bad edges, flows and filters get 400 with the path at fault`, async (t) => {
    const { runner, close } = await open();
    const srv = await serve(runner, 30_000);
    t.after(async () => {
      await srv.close();
      await close();
    });
    const r = { from: T1, to: T1 + HOUR };
    const cases: [string, unknown, string][] = [
      ['edges', { ...r, limit: 10_001 }, 'limit'],
      ['edges', { ...r, peers: 'some' }, 'peers'],
      ['edges', { ...r, group: 'pod' }, 'group'],
      ['edges', { ...r, peers: 'split', resolution: '1h' }, 'resolution'],
      ['flows', { ...r, limit: 1001 }, 'limit'],
      ['flows', { ...r, cursor: '' }, 'cursor'],
      ['flows', { ...r, cursor: 'eyJ2IjoxfQ' }, 'cursor'],
      ['flows', { ...r, resolution: 'raw' }, 'resolution'],
      ['topn', { ...r, dimensions: ['dst_namespace'], filters: [{ dimension: 'dst_port', op: 'prefix', value: '44' }] }, 'filters.0.op'],
      ['topn', { ...r, dimensions: ['dst_namespace'], filters: [{ dimension: 'dst_namespace', op: 'cidr', value: '10.0.0.0/8' }] }, 'filters.0.op'],
      ['topn', { ...r, dimensions: ['dst_namespace'], filters: [{ dimension: 'dst_addr', op: 'cidr', value: '10.0.0.0/33' }] }, 'filters.0.value'],
      ['topn', { ...r, dimensions: ['dst_namespace'], filters: [{ dimension: 'dst_addr', op: 'cidr', value: "10.0.0.0/8' OR 1=1" }] }, 'filters.0.value'],
      ['topn', { ...r, dimensions: ['dst_namespace'], filters: [{ dimension: 'dst_namespace', op: 'prefix', value: '' }] }, 'filters.0.value'],
      ['topn', { ...r, dimensions: ['dst_namespace'], filters: [{ dimension: 'dst_port', op: 'not_in', values: ['x'] }] }, 'filters.0.values.0'],
      ['topn', { ...r, dimensions: ['dst_namespace'], filters: [{ dimension: 'cloud', op: 'eq', value: 'oracle' }] }, 'filters.0.value'],
      ['topn', { ...r, dimensions: ['dst_namespace'], from: 'now-1y' }, 'from'],
      ['topn', { ...r, dimensions: ['dst_namespace'], from: 'now+1h' }, 'from'],
      ['topn', { ...r, dimensions: ['dst_namespace'], from: 'now', to: 'now-1h' }, 'to'],
    ];
    for (const [kind, body, path] of cases) {
      const res = await call(srv.url, 'POST', `/v1/query/${kind}`, TOKENS.readA, body);
      assert.equal(res.status, 400, `${kind} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.path, path, `${kind} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    }
    // SQL-looking values in the new operators are values: they match nothing, never a 500
    for (const v of SQL_VALUES) {
      for (const f of [{ dimension: 'dst_namespace', op: 'prefix', value: v }, { dimension: 'dst_namespace', op: 'ne', value: v }, { dimension: 'network', op: 'not_in', values: [v] }]) {
        const res = await call(srv.url, 'POST', '/v1/query/flows', TOKENS.readA, { ...r, filters: [f] });
        assert.equal(res.status, 200, `${JSON.stringify(f)}: ${JSON.stringify(res.body)}`);
      }
    }
    // the token first, on every new route
    for (const route of ['/v1/query/edges', '/v1/query/flows']) {
      assert.equal((await call(srv.url, 'POST', route, null, r)).status, 401);
      assert.equal((await call(srv.url, 'POST', route, TOKENS.ingestA, r)).status, 403);
    }
  });
}
