/**
 * The service map's edges over 24 h of 10M flows, through the API (POST /v1/query/edges on a
 * runner with the default limits), on both engines:
 * `pnpm -C services/api bench:edges [--engine duckdb|clickhouse|both] [--flows 10000000] [--runs 3] [--limit 1000] [--ch-fill views|direct] [--split false]`.
 *
 * One run per engine: the engine generates the day of flows itself (packages/store/bench/flows-gen.ts:
 * 600 workloads per side over 3 clusters, internet and unattributed peers), then each query is timed
 * `runs` times and the median printed:
 * - rollup: peers merged over the whole day (the 1h rollup answers): the target is at most 200 ms;
 * - baseline, measured in the same run: the same edges from the raw table (resolution raw); then,
 *   once, the split peers (internet apart from unattributed, which only the raw table can answer).
 * The rollup's edges must equal the raw table's (checked). ClickHouse needs `pnpm infra:up`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClickHouseStore, DuckDBStore } from '@sightline/store';
import { endpoints } from '@sightline/testkit';
import { generateClickHouse, generateDuckDB } from '../../../packages/store/bench/flows-gen.js';
import { createLogger } from '../src/log.js';
import { ApiMetrics } from '../src/metrics.js';
import { ClickHouseRunner, DuckDBRunner, type QueryRunner } from '../src/query-runner.js';
import { startServer } from '../src/server.js';
import { hashToken, TokenIndex } from '../src/tokens.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : (process.argv[i + 1] ?? dflt);
};
const ENGINES = arg('engine', 'both') === 'both' ? ['clickhouse', 'duckdb'] : [arg('engine', 'both')];
const FLOWS = Number(arg('flows', '10000000'));
const RUNS = Number(arg('runs', '3'));
const LIMIT = Number(arg('limit', '1000'));
const T0 = Date.UTC(2024, 10, 26);
const DAY = 86_400_000;
const TARGET_MS = 200;
// --ch-fill views|direct: ClickHouse rollups through the views as rows are inserted, or filled once (flows-gen.ts)
const FILL = arg('ch-fill', 'views') === 'direct' ? 'direct' : 'views';
const TOKEN = randomBytes(24).toString('base64url');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

interface Answer {
  rollup: string;
  nodes: unknown[];
  edges: unknown[];
}

async function timeEdges(url: string, body: Record<string, unknown>, runs: number): Promise<{ ms: number; answer: Answer }> {
  const xs: number[] = [];
  let answer: Answer | undefined;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const res = await fetch(`${url}/v1/query/edges`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as Answer;
    xs.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`edges ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(json)}`);
    answer = json;
  }
  return { ms: median(xs), answer: answer! };
}

async function measure(engine: string, runner: QueryRunner): Promise<void> {
  const log = createLogger({ level: 'silent' });
  const tokens = new TokenIndex({ clusters: [], readers: [{ tokenSha256: hashToken(TOKEN), tenant: 'acme' }] });
  const srv = await startServer(
    { tokens, metrics: new ApiMetrics(false), log, publisher: { publish: async () => undefined } },
    { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, maxInflatedBytes: 1 << 20, ready: () => true, query: { tokens, runner, timeoutMs: 300_000, log, maxBodyBytes: 64 * 1024 } },
  );
  try {
    const day = { from: T0, to: T0 + DAY, limit: LIMIT };
    // each figure printed as soon as it is measured (the raw queries take long on a loaded machine)
    console.log(`${engine} edges over 24 h of ${fmt(FLOWS)} flows, top ${LIMIT}, median of ${RUNS}:`);
    const rollup = await timeEdges(srv.url, { ...day, peers: 'merged' }, RUNS);
    const within = rollup.ms <= TARGET_MS ? 'within' : 'OVER';
    console.log(`  rollup (${rollup.answer.rollup}, peers merged; ${rollup.answer.edges.length} edges, ${rollup.answer.nodes.length} nodes): ${fmt(rollup.ms, 1)} ms (${within} the ${TARGET_MS} ms target)`);
    const raw = await timeEdges(srv.url, { ...day, peers: 'merged', resolution: 'raw' }, RUNS);
    if (JSON.stringify(rollup.answer.edges) !== JSON.stringify(raw.answer.edges)) throw new Error(`${engine}: the rollup's edges differ from the raw table's`);
    console.log(`  baseline raw table, same edges (equal): ${fmt(raw.ms, 1)} ms; ratio raw/rollup ${fmt(raw.ms / rollup.ms, 1)}x`);
    // the split peers need the addresses: raw only, one run (a figure, not a target; minutes on DuckDB: --split false skips it)
    if (arg('split', 'true') !== 'false') try {
      const split = await timeEdges(srv.url, { ...day, peers: 'split' }, 1);
      console.log(`  raw table, peers split (internet apart; one run): ${fmt(split.ms, 1)} ms (${split.answer.edges.length} edges, ${split.answer.nodes.length} nodes)`);
    } catch (err) {
      console.log(`  raw table, peers split: ${err instanceof Error ? err.message : String(err)}`);
    }
  } finally {
    await srv.close();
  }
}

async function duckdb(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-edges-bench-'));
  try {
    const file = path.join(dir, 'edges.duckdb');
    // the runner's memory limit: one database instance in one process
    const writer = await DuckDBStore.open({ path: file, memoryLimit: '1GB' });
    await writer.migrate();
    const t = performance.now();
    await generateDuckDB(writer, { flows: FLOWS, t0: T0, tenant: 'acme' });
    console.log(`duckdb: generated ${fmt(FLOWS)} flows over 24 h with rollups in ${fmt((performance.now() - t) / 1000, 1)} s`);
    const runner = await DuckDBRunner.open(file, 2, { memoryLimit: '1GB' });
    try {
      await measure('duckdb', runner);
    } finally {
      await runner.close();
      await writer.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function clickhouse(): Promise<void> {
  const url = endpoints().clickhouseUrl;
  const database = `sightline_edges_bench_${randomBytes(4).toString('hex')}`;
  const store = ClickHouseStore.open({ url, database });
  const client = store.client;
  try {
    await store.migrate();
    const t = performance.now();
    // over the server's HTTP interface without a client timeout: one INSERT SELECT may take minutes on a loaded machine
    const command = async ({ query }: { query: string }) => {
      const res = await fetch(url, { method: 'POST', body: query });
      const text = await res.text();
      if (!res.ok) throw new Error(`clickhouse: ${text.slice(0, 500)}`);
    };
    const ft = await store.features();
    // on 18.16 the store writes AWS rows through flows_aws_feed (store migration 10)
    await generateClickHouse({ command }, database, { flows: FLOWS, t0: T0, tenant: 'acme' }, ft.dateTime64, FILL, ft.dedupToken ? 'flows_aws' : 'flows_aws_feed');
    console.log(`clickhouse: generated ${fmt(FLOWS)} flows over 24 h server-side (rollups: ${FILL === 'views' ? 'through the views' : 'one INSERT SELECT each, views dropped'}) in ${fmt((performance.now() - t) / 1000, 1)} s`);
    const runner = await ClickHouseRunner.open({ url, database });
    try {
      await measure('clickhouse', runner);
    } finally {
      await runner.close();
    }
  } finally {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await store.close();
  }
}

for (const e of ENGINES) {
  if (e === 'duckdb') await duckdb();
  else if (e === 'clickhouse') await clickhouse();
  else throw new Error(`--engine duckdb|clickhouse|both, not ${e}`);
}
