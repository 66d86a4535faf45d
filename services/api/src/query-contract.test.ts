import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { colIndex, FlowBatch, makeBatchMeta, type BatchMeta } from '@sightline/flow';
import type { FlowStore } from '@sightline/store';
import { createLogger } from './log.js';
import { ApiMetrics } from './metrics.js';
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
      action: r() < 0.05 ? 'REJECT' : 'ACCEPT',
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
    const top1m = await call(srv.url, 'GET', `/v1/query/topn?from=${from1m}&to=${T0 + 2 * HOUR}&dimension=dst_port&metric=packets&limit=10`, TOKENS.readA);
    assert.equal(top1m.status, 200, JSON.stringify(top1m.body));
    assert.equal(top1m.body.rollup, '1m');
    const inRange = seeded.a.filter((r) => r.start >= from1m);
    assert.deepEqual(top1m.body.rows!.map((r) => ({ k: r.key.dst_port, v: r.value })), expectedTop(inRange, (r) => r.dst_port, (r) => r.packets, 10));

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
    for (const r of seeded.a) if (r.action === 'REJECT') buckets.set(r.start - (r.start % 300_000), (buckets.get(r.start - (r.start % 300_000)) ?? 0) + 1);
    assert.deepEqual(ts.body.points, [...buckets].sort((x, y) => x[0] - y[0]).map(([t0, value]) => ({ t: t0, value })));

    // forcing the raw table gives the same series
    const tsRaw = await call(srv.url, 'POST', '/v1/query/timeseries', TOKENS.readA, { ...q, step: 300, metric: 'flows', resolution: 'raw', filters: [{ dimension: 'action', op: 'in', values: ['REJECT'] }] });
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

/** An impossible deadline: the time limit answers 504 and the runner keeps answering afterwards. */
export async function deadlineCheck(runner: QueryRunner): Promise<void> {
  const strict = await serve(runner, 1);
  const normal = await serve(runner, 30_000);
  try {
    // the raw table grouped by both addresses: real work for the engine, far beyond 1 ms
    const heavy = { from: T0, to: T0 + 2 * HOUR, dimensions: ['src_addr', 'dst_addr', 'dst_pod'], resolution: 'raw', limit: 1000 };
    for (let i = 0; i < 3; i++) {
      const r = await call(strict.url, 'POST', '/v1/query/topn', TOKENS.readA, heavy);
      assert.equal(r.status, 504, JSON.stringify(r.body));
      assert.equal(r.body.error, 'timeout');
      assert.match(r.body.message!, /time limit of 1 ms/);
    }
    const after = await call(normal.url, 'POST', '/v1/query/topn', TOKENS.readA, { ...heavy, limit: 5 });
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.rows!.length, 5);
  } finally {
    await strict.close();
    await normal.close();
  }
}
