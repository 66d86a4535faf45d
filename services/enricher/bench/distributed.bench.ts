// The distributed pipeline end to end, on the local services: AWS flow-log objects in moto S3 ->
// the built collector (`--once`, a child process) -> Kafka -> the built enricher (a child process,
// attribution against a cluster's kube-meta) -> ClickHouse. Timed from the collector's spawn until
// the raw table holds every flow. The same objects are also parsed in memory in this process
// (parse-only), so the printed ratios compare rates measured in the same run on the same machine.
//
//   pnpm -C services/enricher bench      (builds the enricher; the collector's dist must be built: pnpm build)
//
// Env: BENCH_RUNS (3), BENCH_OBJECTS (8), BENCH_LINES per object (250000), BENCH_PROF=DIR writes
// --cpu-prof profiles of both children there, BENCH_ENRICHER_LOG / BENCH_COLLECTOR_LOG (warn),
// BENCH_CH_LOWCARD=0|1|auto (tables without / with LowCardinality; auto: the store's default), BENCH_WRITE_ROWS and BENCH_WRITERS (the
// enricher's writeRows and writers).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ensureTopics, topicSpecs } from '@sightline/bus';
import { endpoints, spawnService, type ServiceProcess } from '@sightline/testkit';
import { newStats, parseObject } from '@sightline/parsers';
import { deleteTopics, kafka, kubeMeta, publishKubeMeta, uniqueName } from '../src/testdata/harness.js';
import type { EnricherConfigInput } from '../src/config.js';
import { createBucket, deleteBucket, putObject, type S3Target } from './s3.js';
import { ACCOUNT, awsFlowLog, awsKey, CLUSTER, clusterPods, REGION, TENANT } from './workload.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ENRICHER = path.resolve(HERE, '../dist/main.js');
const COLLECTOR = path.resolve(HERE, '../../collector/dist/main.js');
const TARGET = 200_000;
const FLOWS_PARTITIONS = 6;
const META_PARTITIONS = 2;

const Env = z.object({
  BENCH_RUNS: z.coerce.number().int().min(1).default(3),
  BENCH_OBJECTS: z.coerce.number().int().min(1).default(8),
  BENCH_LINES: z.coerce.number().int().min(1000).default(250_000),
  BENCH_PROF: z.string().optional(),
  BENCH_ENRICHER_LOG: z.string().default('warn'),
  BENCH_COLLECTOR_LOG: z.string().default('warn'),
  /** 0 / 1: the ClickHouse tables without / with LowCardinality; auto: the store's default for the server (see the store README) */
  BENCH_CH_LOWCARD: z.enum(['auto', '0', '1']).default('auto'),
  BENCH_WRITE_ROWS: z.coerce.number().int().min(1).optional(),
  BENCH_WRITERS: z.coerce.number().int().min(1).optional(),
});
const env = Env.parse(process.env);
const ep = endpoints();
const s3: S3Target = { endpoint: ep.s3Endpoint, region: REGION, accessKeyId: 'test', secretAccessKey: 'bench-dummy-secret' };

for (const f of [ENRICHER, COLLECTOR]) if (!existsSync(f)) throw new Error(`${f} is missing: build first (pnpm -C /work/main build)`);

function start(file: string, args: string[], level: string, tag: string): ServiceProcess {
  const prof = env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(env.BENCH_PROF), '--cpu-prof-name', `${tag}-${Date.now()}.cpuprofile`] : [];
  return spawnService({ name: tag, argv: [...prof, '--enable-source-maps', file, ...args], env: { SIGHTLINE_LOG_LEVEL: level }, keepLines: 500 });
}

async function ch(sql: string): Promise<string> {
  const r = await fetch(ep.clickhouseUrl, { method: 'POST', body: sql });
  const text = await r.text();
  if (!r.ok) throw new Error(`clickhouse: ${sql.slice(0, 80)}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text.trim();
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function parseOnly(docs: { name: string; body: Buffer }[]): Promise<{ flows: number; rate: number }> {
  const t0 = performance.now();
  let flows = 0;
  for (const d of docs) {
    const ref = { name: d.name, open: () => (async function* () { yield d.body; })() };
    for await (const b of parseObject(ref, { source: 'bench', stats: newStats(), onIssue: () => undefined, batchCapacity: 8192 })) flows += b.length;
  }
  return { flows, rate: flows / ((performance.now() - t0) / 1000) };
}

interface RunResult { flows: number; parseRate: number; collectorS: number; e2eS: number; e2eRate: number }

async function run(i: number, bucket: string, docs: { name: string; body: Buffer }[], expected: number): Promise<RunResult> {
  const parsed = await parseOnly(docs);
  if (parsed.flows !== expected) throw new Error(`parse-only read ${parsed.flows} flows, expected ${expected}`);

  const prefix = `${uniqueName(`dbench${i}`)}.`;
  const group = uniqueName('g');
  const database = `dbench_${Date.now().toString(36)}_${i}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sl-dbench-'));
  const specs = topicSpecs({ prefix, flows: { partitions: FLOWS_PARTITIONS }, kubeMeta: { partitions: META_PARTITIONS } });
  const admin = kafka().admin();
  await admin.connect();
  try { await ensureTopics(admin, [specs.flows, specs.kubeMeta]); } finally { await admin.disconnect(); }
  const now = Date.now();
  const sample = kubeMeta(TENANT, CLUSTER);
  await publishKubeMeta(specs.kubeMeta.name, [...sample, ...clusterPods(sample, now)]);

  const enricherCfg: EnricherConfigInput = {
    kafka: { brokers: ep.kafkaBrokers, topicPrefix: prefix, flowsPartitions: FLOWS_PARTITIONS, kubeMetaPartitions: META_PARTITIONS, group, sessionTimeoutMs: 30_000 },
    store: { engine: 'clickhouse', url: ep.clickhouseUrl, database, username: 'default', password: '', ...(env.BENCH_CH_LOWCARD === 'auto' ? {} : { lowCardinality: env.BENCH_CH_LOWCARD === '1' }) },
    enricher: {
      clusters: [{ tenant: TENANT, cluster: CLUSTER, cloud: 'aws', accounts: [ACCOUNT] }],
      ...(env.BENCH_WRITE_ROWS ? { writeRows: env.BENCH_WRITE_ROWS, pendingRows: 3 * env.BENCH_WRITE_ROWS } : {}),
      ...(env.BENCH_WRITERS ? { writers: env.BENCH_WRITERS } : {}),
    },
    http: { port: 0 },
  };
  const collectorCfg = {
    kafka: { brokers: ep.kafkaBrokers, topicPrefix: prefix, flowsPartitions: FLOWS_PARTITIONS, workPartitions: 6, group: `${prefix}collectors`, sessionTimeoutMs: 6000 },
    collector: { workers: 2, batchRows: 8192, inflightBatches: 8, pollIntervalMs: 500 },
    http: { port: 0 },
    sources: [{ cloud: 'aws', tenant: TENANT, accountId: ACCOUNT, region: REGION, bucket, staticCredentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, endpoint: s3.endpoint }],
  };
  await writeFile(path.join(dir, 'enricher.json'), JSON.stringify(enricherCfg));
  await writeFile(path.join(dir, 'collector.json'), JSON.stringify(collectorCfg));

  const children: ServiceProcess[] = [];
  try {
    const enricher = start(ENRICHER, ['--config', path.join(dir, 'enricher.json')], env.BENCH_ENRICHER_LOG === 'warn' ? 'info' : env.BENCH_ENRICHER_LOG, 'enricher');
    children.push(enricher);
    // timed from a running enricher that holds its partitions: a new group's join is not pipeline work
    await enricher.seen('flows partitions assigned');
    const t0 = performance.now();
    const collector = start(COLLECTOR, ['--config', path.join(dir, 'collector.json'), '--once'], env.BENCH_COLLECTOR_LOG, 'collector');
    children.push(collector);
    let collectorS = NaN;
    void collector.exited.then((code) => {
      collectorS = (performance.now() - t0) / 1000;
      if (code !== 0) process.stderr.write(`collector exited ${code}:\n${collector.lines.slice(-20).join('\n')}\n`);
    });
    let stored = 0;
    const deadline = Date.now() + 30 * 60_000;
    while (stored < expected) {
      if (Date.now() > deadline) throw new Error(`ClickHouse holds ${stored} of ${expected} flows after 30 minutes`);
      if (enricher.child.exitCode !== null) throw new Error(`enricher exited ${enricher.child.exitCode}:\n${enricher.lines.slice(-20).join('\n')}`);
      await new Promise((ok) => setTimeout(ok, 100));
      stored = Number(await ch(`SELECT count() FROM ${database}.flows`).catch(() => '0'));
    }
    const e2eS = (performance.now() - t0) / 1000;
    if (stored !== expected) throw new Error(`ClickHouse holds ${stored} flows, ${expected} expected (a batch written twice)`);
    await collector.exited;
    return { flows: expected, parseRate: parsed.rate, collectorS, e2eS, e2eRate: expected / e2eS };
  } finally {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => Promise.race([c.exited, new Promise((ok) => setTimeout(ok, 20_000))])));
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await ch(`DROP DATABASE IF EXISTS ${database}`).catch((err: unknown) => process.stderr.write(`clean-up: ${String(err)}\n`));
    await deleteTopics(prefix);
  }
}

const bucket = uniqueName('dbench');
if (env.BENCH_PROF) await mkdir(env.BENCH_PROF, { recursive: true });
await createBucket(s3, bucket);
try {
  const now = Date.now();
  const docs: { name: string; body: Buffer }[] = [];
  for (let i = 0; i < env.BENCH_OBJECTS; i++) {
    const body = awsFlowLog(env.BENCH_LINES, 1000 + i, now);
    const name = awsKey(`bench${i}`, new Date(now));
    await putObject(s3, bucket, name, body);
    docs.push({ name, body });
  }
  const expected = env.BENCH_OBJECTS * env.BENCH_LINES;
  const mib = docs.reduce((a, d) => a + d.body.length, 0) / 1_048_576;
  console.log(`distributed bench: ${env.BENCH_OBJECTS} objects, ${fmt(expected)} AWS default-format flows (${mib.toFixed(1)} MiB gzip) in moto S3; ${env.BENCH_RUNS} runs; ${os.cpus().length} cores`);
  const results: RunResult[] = [];
  for (let i = 0; i < env.BENCH_RUNS; i++) {
    const r = await run(i, bucket, docs, expected);
    results.push(r);
    console.log(JSON.stringify({ run: i + 1, flows: r.flows, e2eS: +r.e2eS.toFixed(2), e2eRate: Math.round(r.e2eRate), collectorS: +r.collectorS.toFixed(2), parseRate: Math.round(r.parseRate), ratioToParse: +(r.e2eRate / r.parseRate).toFixed(3), ratioToTarget: +(r.e2eRate / TARGET).toFixed(3) }));
  }
  const e2e = median(results.map((r) => r.e2eRate));
  const parse = median(results.map((r) => r.parseRate));
  const ratio = median(results.map((r) => r.e2eRate / r.parseRate));
  console.log(`collector -> Kafka -> enricher -> ClickHouse: ${fmt(e2e)} flows/s end to end (median of ${results.length}; collector done after ${median(results.map((r) => r.collectorS)).toFixed(1)} s, every flow in ClickHouse after ${median(results.map((r) => r.e2eS)).toFixed(1)} s)`);
  console.log(`parse-only, same objects, this process: ${fmt(parse)} flows/s; ratio end to end / parse-only ${ratio.toFixed(3)}`);
  console.log(`ratio to the 200,000 flows/s target: ${(e2e / TARGET).toFixed(3)} ${e2e >= TARGET ? '(met)' : '(not met)'}`);
} finally {
  await deleteBucket(s3, bucket).catch((err: unknown) => process.stderr.write(`clean-up: bucket ${bucket}: ${String(err)}\n`));
}
// kafkajs keeps sockets in its pools: the run is over
process.exit(0);
