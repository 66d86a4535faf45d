// Embedded end to end: the bundled EKS, GKE and AKS clusters with BENCH_SCALE times their sample
// traffic (samples/make-samples.ts, SAMPLES_SCALE), read from local files, parsed, attributed and
// written to a fresh DuckDB file by the same pipeline as `pnpm start`; against the parse-only rate
// of the same objects (read + decompress + parse + normalize, nothing kept) measured in the same run,
// against DuckDB's own copy of the stored rows into an empty table of the same schema
// (INSERT INTO ... SELECT: the engine's ceiling for these rows, no JavaScript involved), and against
// the 500,000 flows/s target. Rates are per wall second, and per CPU second of the
// process (all threads, DuckDB's included) since the machine is shared. Medians of BENCH_RUNS runs.
//   pnpm -C services/cli bench                    (BENCH_SCALE=100 ~1.1M flows, BENCH_RUNS=3)
//   BENCH_DATA=/some/dir keeps the generated objects between invocations.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newStats, parseObject } from '@sightline/parsers';
import { DuckDBStore, RAW_FLOW_TABLES } from '@sightline/store';
import { z } from 'zod';
import { scaledSamples } from './scaled-samples.js';
import { EMBEDDED_MEMORY_LIMIT } from '../src/embedded/embedded.js';
import { runPipeline } from '../src/embedded/pipeline.js';
import { fileInput } from '../src/file-input.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const Env = z.object({
  BENCH_SCALE: z.coerce.number().positive().default(100),
  BENCH_RUNS: z.coerce.number().int().min(1).default(3),
  BENCH_DATA: z.string().optional(),
});
const env = Env.parse(process.env);
const TARGET = 500_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const k = (n: number): string => `${Math.round(n / 1000).toLocaleString('en-US')}k`;

/** Wall and CPU (user + system, every thread of the process) seconds of `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1e6 };
}

// ---- the data: generated once per scale (deterministic), kept when BENCH_DATA names a folder
const { cfg, files } = scaledSamples(ROOT, env.BENCH_SCALE, env.BENCH_DATA ?? path.join(os.tmpdir(), `sightline-embedded-bench-x${env.BENCH_SCALE}`));

async function parseOnly(): Promise<number> {
  const stats = newStats();
  let rows = 0;
  for (const f of files) for await (const b of parseObject(fileInput(f), { source: f, stats, onIssue: (i) => console.error(`issue: ${f}: ${i.message}`) })) rows += b.length;
  return rows;
}

/** The pipeline into a fresh DuckDB file, timed from opening the store to the last write; then checks and the copy baseline. */
async function endToEnd(run: number): Promise<{ wall: number; cpu: number; flows: number; attributed: number; stored: number; copySecs: number; bytesPerFlow: number }> {
  const db = path.join(os.tmpdir(), `sightline-embedded-bench-${process.pid}-${run}.duckdb`);
  for (const f of [db, `${db}.wal`]) fs.rmSync(f, { force: true });
  const t = await timed(async () => {
    const store = await DuckDBStore.open({ path: db, memoryLimit: EMBEDDED_MEMORY_LIMIT });
    await store.migrate();
    return { store, r: await runPipeline(cfg, store, { onIssue: (m) => console.error(`issue: ${m}`) }) };
  });
  const { store, r } = t.value;
  try {
    // every flow counted by the pipeline is in the store: a run that lost rows is not a result
    const stored = await store.withConnection(async (c) => Number((await c.runAndReadAll('SELECT count(*) FROM flows')).getRowsJS()[0]![0]));
    await store.withConnection((c) => c.run('CHECKPOINT'));
    const bytesPerFlow = fs.statSync(db).size / stored;
    // DuckDB's own work for these rows, no JavaScript: each raw table (layout (b): a table per cloud,
    // `flows` is a view) copied into an empty one of its shape, and checkpointed so the compression
    // and the write to the file are counted as they are in the pipeline's run
    const copySecs = await store.withConnection(async (c) => {
      for (const t of RAW_FLOW_TABLES) await c.run(`CREATE TABLE "${t}_copy" AS SELECT * FROM "${t}" LIMIT 0`);
      const t0 = performance.now();
      for (const t of RAW_FLOW_TABLES) await c.run(`INSERT INTO "${t}_copy" SELECT * FROM "${t}"`);
      await c.run('CHECKPOINT');
      const secs = (performance.now() - t0) / 1000;
      for (const t of RAW_FLOW_TABLES) await c.run(`DROP TABLE "${t}_copy"`);
      return secs;
    });
    return { wall: t.wall, cpu: t.cpu, flows: r.flows, attributed: r.attributed, stored, copySecs, bytesPerFlow };
  } finally {
    await store.close();
    for (const f of [db, `${db}.wal`]) fs.rmSync(f, { force: true });
  }
}

const parse: { wall: number; cpu: number }[] = [];
const copy: number[] = [];
const e2e: { wall: number; cpu: number }[] = [];
let flows = 0;
for (let i = 1; i <= env.BENCH_RUNS; i++) {
  const p = await timed(parseOnly);
  const e = await endToEnd(i);
  if (e.stored !== e.flows || p.value !== e.flows) {
    throw new Error(`run ${i}: parse-only ${p.value} rows, pipeline ${e.flows} flows, store holds ${e.stored}`);
  }
  flows = e.flows;
  parse.push(p);
  e2e.push(e);
  copy.push(e.copySecs);
  console.log(
    `run ${i}: ${flows} flows (${((100 * e.attributed) / flows).toFixed(1)}% attributed); end to end ${k(flows / e.wall)} flows/s ` +
      `(${k(flows / e.cpu)} per CPU s), parse-only ${k(flows / p.wall)} flows/s (${k(flows / p.cpu)} per CPU s), ` +
      `DuckDB INSERT SELECT of the rows ${k(flows / e.copySecs)} flows/s; ${e.bytesPerFlow.toFixed(0)} bytes/flow on disk`,
  );
}
const e2eRate = median(e2e.map((r) => flows / r.wall));
const parseRate = median(parse.map((r) => flows / r.wall));
console.log(`\nmedians of ${env.BENCH_RUNS} runs, ${flows} flows each:`);
console.log(`end to end        ${k(e2eRate)} flows/s wall, ${k(median(e2e.map((r) => flows / r.cpu)))} flows per CPU second`);
console.log(`parse-only        ${k(parseRate)} flows/s wall, ${k(median(parse.map((r) => flows / r.cpu)))} flows per CPU second`);
const copyRate = median(copy.map((s) => flows / s));
console.log(`DuckDB INSERT SELECT ${k(copyRate)} flows/s (the engine's own ceiling for these rows)`);
console.log(`ratio end-to-end / parse-only ${(e2eRate / parseRate).toFixed(3)} (wall)`);
console.log(`ratio end-to-end / DuckDB INSERT SELECT ${(e2eRate / copyRate).toFixed(3)}`);
// above 0.6 only if the engine alone could store these rows faster than 0.6x of parse-only
console.log(`ratio DuckDB INSERT SELECT / parse-only ${(copyRate / parseRate).toFixed(3)} (the most end-to-end could reach with this engine's write)`);
console.log(`ratio end-to-end / target (${k(TARGET)} flows/s) ${(e2eRate / TARGET).toFixed(3)}`);
