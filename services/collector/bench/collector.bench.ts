// Flows per second from each emulator (moto S3, fake-gcs-server, Azurite) through the collector
// to Kafka, against parse-only throughput of the same objects measured in the same run, and the
// peak RSS of the run. Each run is its own process (emulator-run.ts); every emulator gets the same
// flow count; the figures printed are medians of RUNS runs.
//   pnpm -C services/collector bench          (needs `pnpm infra:up kafka moto fakegcs azurite`)
//   BENCH_RUNS=5 BENCH_OBJECTS=8 BENCH_LINES=100000 BENCH_EMULATORS=s3,azure ... to change the load
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const RUNS = z.coerce.number().int().min(1).parse(process.env.BENCH_RUNS ?? 3);
const EMULATORS = (process.env.BENCH_EMULATORS ?? 's3,gcs,azure').split(',').map((s) => s.trim()).filter(Boolean);

const Result = z.object({
  emulator: z.string(), objects: z.number(), flows: z.number(), storedMiB: z.number(),
  parseRate: z.number(), e2eRate: z.number(), peakRssMiB: z.number(),
});
type Result = z.infer<typeof Result>;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const k = (n: number) => `${Math.round(n / 1000).toLocaleString('en-US')}k`;

const results = new Map<string, Result[]>();
// Interleaved (s3, gcs, azure, s3, ...) so a noisy minute on the shared machine hits every emulator alike.
for (let i = 0; i < RUNS; i++) {
  for (const e of EMULATORS) {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(HERE, 'emulator-run.ts'), e], { cwd: path.join(HERE, '..'), maxBuffer: 1 << 20, timeout: 600_000 });
    const line = stdout.trim().split('\n').pop() ?? '';
    let r: Result;
    try {
      r = Result.parse(JSON.parse(line));
    } catch {
      throw new Error(`bench run ${i + 1} of ${e}: no result line in its output:\n${stdout.slice(-2000)}`);
    }
    results.set(e, [...(results.get(e) ?? []), r]);
    console.log(`run ${i + 1} ${e.padEnd(5)}: ${k(r.e2eRate)} flows/s end-to-end, parse-only ${k(r.parseRate)} flows/s, ratio ${(r.e2eRate / r.parseRate).toFixed(2)}, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
  }
}

console.log(`\nmedians of ${RUNS} runs (each run: ${[...results.values()][0]?.[0]?.flows ?? 0} flows in ${[...results.values()][0]?.[0]?.objects ?? 0} objects per emulator)`);
console.log('emulator  stored MiB  end-to-end flows/s  parse-only flows/s  ratio  peak RSS MiB');
for (const [e, rs] of results) {
  console.log([
    e.padEnd(8),
    rs[0]!.storedMiB.toFixed(1).padStart(10),
    k(median(rs.map((r) => r.e2eRate))).padStart(18),
    k(median(rs.map((r) => r.parseRate))).padStart(18),
    median(rs.map((r) => r.e2eRate / r.parseRate)).toFixed(2).padStart(6),
    median(rs.map((r) => r.peakRssMiB)).toFixed(0).padStart(13),
  ].join('  '));
}
