// `sightline demo` as a whole process (start-up, store open and migrations, collect, parse,
// attribute, DuckDB writes and rollups, the query API and its top-talkers summary, close, exit) on
// BENCH_SCALE times the sample traffic, against `sightline parse --output none` of the same objects
// as a whole process, measured in the same run: the two alternate, so both see the same machine
// load. Issue 11's embedded target is end to end at least 0.6x the parse-only rate.
// Rates are flows per wall second of each process; the ratio is the median demo rate over the
// median parse-only rate. Each demo run's summary line must name every flow parse-only saw.
//   pnpm -C services/cli bench:demo          (BENCH_SCALE=40: 449,616 flows; BENCH_RUNS=3)
//   BENCH_DATA=/some/dir keeps the generated objects between invocations; needs the CLI built.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { scaledSamples } from './scaled-samples.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'services/cli/dist/main.js');
const Env = z.object({
  BENCH_SCALE: z.coerce.number().positive().default(40),
  BENCH_RUNS: z.coerce.number().int().min(1).default(3),
  BENCH_DATA: z.string().optional(),
  /**
   * another build's CLI (its dist/main.js, e.g. main before a change): its demo is timed in the same
   * runs, after this one's, for a before/after under the same load
   */
  BENCH_BASELINE_CLI: z.string().optional(),
  /** a folder: each demo run writes a V8 CPU profile there (`node --cpu-prof`) */
  BENCH_PROFILE: z.string().optional(),
});
const env = Env.parse(process.env);
const TARGET_RATIO = 0.6;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const k = (n: number): string => `${Math.round(n / 1000).toLocaleString('en-US')}k`;

if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build the CLI first (pnpm -C services/cli build)`);

// ---- the data: generated once per scale (deterministic), kept when BENCH_DATA names a folder
const { configFile, files } = scaledSamples(ROOT, env.BENCH_SCALE, env.BENCH_DATA ?? path.join(os.tmpdir(), `sightline-demo-bench-x${env.BENCH_SCALE}`));

/** Runs the CLI to its exit; wall seconds from spawn to exit, and its stdout. */
function runCli(args: string[], nodeArgs: string[] = [], cli = CLI): Promise<{ wall: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - t0) / 1000;
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code !== 0) reject(new Error(`sightline ${args[0]} exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve({ wall, stdout: stdout + stderr });
    });
  });
}

const Stats = z.object({ records: z.number().int() });
const Summary = z.object({ flows: z.number().int(), attributed: z.number().int() });
const lastJson = (text: string): unknown => JSON.parse(text.trim().split('\n').at(-1)!);

const parseWalls: number[] = [];
const demoWalls: number[] = [];
const pipelineMs: number[] = [];
const baselineWalls: number[] = [];
let flows = 0;
const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-demo-bench-db-'));
try {
  for (let i = 1; i <= env.BENCH_RUNS; i++) {
    const p = await runCli(['parse', '--output', 'none', '--stats', ...files]);
    const records = Stats.parse(lastJson(p.stdout)).records;
    const prof = env.BENCH_PROFILE !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(env.BENCH_PROFILE)}`] : [];
    const d = await runCli(['demo', '--config', configFile, '--data', dbDir], prof);
    const s = Summary.parse(lastJson(d.stdout));
    if (s.flows !== records) throw new Error(`run ${i}: parse-only ${records} records, demo ${s.flows} flows`);
    flows = records;
    const m = /flows in (\d+) ms/.exec(d.stdout);
    pipelineMs.push(m ? Number(m[1]) : NaN);
    parseWalls.push(p.wall);
    demoWalls.push(d.wall);
    let baseline = '';
    if (env.BENCH_BASELINE_CLI !== undefined) {
      const bd = await runCli(['demo', '--config', configFile, '--data', dbDir], [], path.resolve(env.BENCH_BASELINE_CLI));
      const bs = Summary.parse(lastJson(bd.stdout));
      if (bs.flows !== records || bs.attributed !== s.attributed) throw new Error(`run ${i}: the baseline demo gave ${bs.flows} flows, ${bs.attributed} attributed`);
      baselineWalls.push(bd.wall);
      baseline = `; baseline demo ${bd.wall.toFixed(2)} s (ratio ${(p.wall / bd.wall).toFixed(3)})`;
    }
    console.log(
      `run ${i}: ${flows} flows (${((100 * s.attributed) / flows).toFixed(1)}% attributed); demo ${d.wall.toFixed(2)} s ` +
        `(${k(flows / d.wall)} flows/s; its pipeline stage ${m?.[1] ?? '?'} ms), parse-only ${p.wall.toFixed(2)} s (${k(flows / p.wall)} flows/s); ` +
        `ratio ${(p.wall / d.wall).toFixed(3)}${baseline}; load average ${os.loadavg()[0]!.toFixed(1)}`,
    );
  }
} finally {
  fs.rmSync(dbDir, { recursive: true, force: true });
}
const demoRate = flows / median(demoWalls);
const parseRate = flows / median(parseWalls);
console.log(`\nmedians of ${env.BENCH_RUNS} runs, ${flows} flows each (whole processes, wall):`);
console.log(`sightline demo                 ${median(demoWalls).toFixed(2)} s  ${k(demoRate)} flows/s (pipeline stage ${median(pipelineMs).toFixed(0)} ms)`);
console.log(`sightline parse --output none  ${median(parseWalls).toFixed(2)} s  ${k(parseRate)} flows/s`);
if (baselineWalls.length > 0) {
  console.log(`baseline demo ${median(baselineWalls).toFixed(2)} s  ${k(flows / median(baselineWalls))} flows/s (${env.BENCH_BASELINE_CLI})`);
  console.log(`baseline ratio demo / parse-only ${(median(parseWalls) / median(baselineWalls)).toFixed(3)}; this demo / baseline demo (speed-up) ${(median(baselineWalls) / median(demoWalls)).toFixed(2)}x`);
}
console.log(`ratio demo / parse-only ${(demoRate / parseRate).toFixed(3)} (target ${TARGET_RATIO}); median of the runs' own ratios ${median(parseWalls.map((p, i) => p / demoWalls[i]!)).toFixed(3)}`);
