/**
 * Tenant B's cheap query under tenant A's load, against B's latency when idle, on both engines:
 * `pnpm -C services/api bench:query [--engine duckdb|clickhouse|both] [--runs 3] [--samples 7]`.
 *
 * One run: A's heavy rows (the raw table grouped by both addresses and the pod, every row its own
 * group) and B's small ones are written by the engine's own SQL; the api server is started on a
 * runner with the default limits. B's query is timed `samples` times with nothing else running
 * (idle), then again while A has 200 heavy queries in flight (sent at once, then abandoned by
 * A's clients once B is done). Prints the medians per run, their ratio, and the median ratio of
 * the runs; the target is at most 2x. ClickHouse needs `pnpm infra:up`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ClickHouseStore, DuckDBStore } from '@sightline/store';
import { endpoints } from '@sightline/testkit';
import { createLogger } from '../src/log.js';
import { ApiMetrics } from '../src/metrics.js';
import { QueryLimitsSchema } from '../src/query-limiter.js';
import { ClickHouseRunner, DuckDBRunner, type QueryRunner } from '../src/query-runner.js';
import { startServer } from '../src/server.js';
import { hashToken, TokenIndex } from '../src/tokens.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : (process.argv[i + 1] ?? dflt);
};
const ENGINES = arg('engine', 'both') === 'both' ? ['duckdb', 'clickhouse'] : [arg('engine', 'both')];
const RUNS = Number(arg('runs', '3'));
const SAMPLES = Number(arg('samples', '7'));
const HEAVY_ROWS = Number(arg('heavy-rows', '300000'));
const A_QUERIES = 200;
const TIMEOUT_MS = 15_000;
// --per-tenant N: the limiter's perTenant (default: the config's)
// --ch-max-threads N|auto: ClickHouse max_threads of each query (default: the config's, auto = half
// the server's; 0 = the server's own, every core)
const CH_THREADS = arg('ch-max-threads', '');
const LIMITS = {
  ...(arg('per-tenant', '') === '' ? {} : { perTenant: Number(arg('per-tenant', '')) }),
  ...(CH_THREADS === '' ? {} : { clickhouse: { ...QueryLimitsSchema.parse({}).clickhouse, maxThreads: CH_THREADS === 'auto' ? ('auto' as const) : Number(CH_THREADS) } }),
};

const T0 = Date.UTC(2025, 2, 10, 8);
const HOUR = 3_600_000;
const HEAVY = { from: T0, to: T0 + 2 * HOUR, dimensions: ['src_addr', 'dst_addr', 'dst_pod'], resolution: 'raw', limit: 1000 };
const CHEAP = { from: T0, to: T0 + 2 * HOUR, dimensions: ['dst_namespace'], resolution: 'raw', metric: 'flows' };
const TOKEN_A = randomBytes(24).toString('base64url');
const TOKEN_B = randomBytes(24).toString('base64url');

/** `n` rows of `tenant`, each its own (src_addr, dst_addr, pod) group, in the engine's own SQL. */
function rowsSql(engine: string, table: string, tenant: string, n: number): string {
  const duck = engine === 'duckdb';
  const i = duck ? 'i' : 'number';
  const s = (x: string) => (duck ? `CAST(${x} AS VARCHAR)` : `toString(${x})`);
  const div = (a: string, b: number) => (duck ? `(${a} // ${b})` : `intDiv(${a}, ${b})`);
  const ts = duck ? `make_timestamp(${T0 * 1000}::BIGINT + (i % 7200) * 1000000)` : `toDateTime(${T0 / 1000} + (number % 7200), 'UTC')`;
  return `INSERT INTO ${table} (tenant, batch_id, row_no, ts, src_addr, dst_addr, dst_k8s_pod, dst_k8s_namespace, bytes, packets)
    SELECT '${tenant}', 'bench-${tenant}', ${i}, ${ts}, concat('10.1.', ${s(`${i} % 251`)}, '.', ${s(`${div(i, 251)} % 251`)}),
      concat('10.2.', ${s(`${i} % 241`)}, '.', ${s(`${div(i, 241)} % 241`)}), concat('pod-', ${s(i)}), concat('ns', ${s(`${i} % 7`)}), 100, 1
    FROM ${duck ? `range(${n}) t(i)` : `numbers(${n})`}`;
}

async function open(engine: string): Promise<{ runner: QueryRunner; close: () => Promise<void> }> {
  if (engine === 'duckdb') {
    const dir = mkdtempSync(path.join(tmpdir(), 'api-bench-'));
    const file = path.join(dir, 'q.duckdb');
    const writer = await DuckDBStore.open({ path: file });
    await writer.migrate();
    await writer.withConnection(async (c) => {
      // rows without a cloud: the raw table that holds them is the wide one (store migration 5; flows is a view)
      await c.run(rowsSql(engine, 'flows_wide', 'acme', HEAVY_ROWS));
      await c.run(rowsSql(engine, 'flows_wide', 'globex', 3000));
    });
    const runner = await DuckDBRunner.open(file, 2, { limits: LIMITS });
    return { runner, close: async () => { await runner.close(); await writer.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const url = endpoints().clickhouseUrl;
  const database = `sightline_apibench_${randomBytes(4).toString('hex')}`;
  const writer = ClickHouseStore.open({ url, database });
  await writer.migrate();
  // rows without a cloud: the raw table that holds them is the wide one (store migration 9; flows is a view)
  await writer.client.command({ query: rowsSql(engine, `${database}.flows_wide`, 'acme', HEAVY_ROWS) });
  await writer.client.command({ query: rowsSql(engine, `${database}.flows_wide`, 'globex', 3000) });
  const runner = await ClickHouseRunner.open({ url, database }, { limits: LIMITS });
  return {
    runner,
    close: async () => {
      await runner.close();
      await writer.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await writer.close();
    },
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function oneRun(engine: string): Promise<{ idle: number; load: number; statuses: Record<string, number> }> {
  const { runner, close } = await open(engine);
  const log = createLogger({ level: 'silent' });
  const tokens = new TokenIndex({ clusters: [], readers: [{ tokenSha256: hashToken(TOKEN_A), tenant: 'acme' }, { tokenSha256: hashToken(TOKEN_B), tenant: 'globex' }] });
  const srv = await startServer(
    { tokens, metrics: new ApiMetrics(false), log, publisher: { publish: async () => undefined } },
    { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, maxInflatedBytes: 1 << 20, ready: () => true, query: { tokens, runner, timeoutMs: TIMEOUT_MS, log, maxBodyBytes: 64 * 1024 } },
  );
  const post = (token: string, body: unknown, signal?: AbortSignal) =>
    fetch(`${srv.url}/v1/query/topn`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  const timeB = async (): Promise<{ ms: number; status: number }> => {
    const t = performance.now();
    const r = await post(TOKEN_B, CHEAP);
    await r.arrayBuffer();
    return { ms: performance.now() - t, status: r.status };
  };
  const statuses: Record<string, number> = {};
  try {
    await timeB(); // warm-up: connections, caches
    const idle: number[] = [];
    for (let i = 0; i < SAMPLES; i++) idle.push((await timeB()).ms);
    const abandon = Array.from({ length: A_QUERIES }, () => new AbortController());
    const sent = abandon.map((ac) => post(TOKEN_A, HEAVY, ac.signal).then(async (r) => { await r.arrayBuffer(); return String(r.status); }, () => 'abandoned'));
    // let A's requests reach the server before B asks (bench only: the tests wait on limiter events)
    await new Promise((ok) => setTimeout(ok, 300));
    const load: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const r = await timeB();
      load.push(r.ms);
      statuses[`B ${r.status}`] = (statuses[`B ${r.status}`] ?? 0) + 1;
    }
    for (const ac of abandon) ac.abort();
    for (const s of await Promise.all(sent)) statuses[`A ${s}`] = (statuses[`A ${s}`] ?? 0) + 1;
    return { idle: median(idle), load: median(load), statuses };
  } finally {
    await srv.close();
    await close();
  }
}

const summary: Record<string, unknown> = {};
for (const engine of ENGINES) {
  const ratios: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const r = await oneRun(engine);
    const ratio = r.load / r.idle;
    ratios.push(ratio);
    console.log(`${engine} run ${run + 1}: B idle median ${r.idle.toFixed(1)} ms, under A's ${A_QUERIES} heavy queries ${r.load.toFixed(1)} ms, ratio ${ratio.toFixed(2)}x  ${JSON.stringify(r.statuses)}`);
  }
  const m = median(ratios);
  summary[engine] = { runs: RUNS, samples: SAMPLES, heavyRows: HEAVY_ROWS, medianRatio: Number(m.toFixed(2)), target: 2 };
  console.log(`${engine}: median ratio over ${RUNS} runs ${m.toFixed(2)}x (target <= 2x)`);
}
console.log(JSON.stringify(summary));
