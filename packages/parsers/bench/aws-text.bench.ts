/**
 * AWS text parsing benchmark: wall time of parsing a generated 2,000,000-line default-format
 * `.log.gz` (decompress + parse + normalize, output discarded) divided by the wall time of
 * `gzip -dc` of the same file, both measured in this run, each as a separate process.
 * Target: ratio <= 1.5.
 *
 *   pnpm -C packages/parsers bench:aws            (AWS_BENCH_RUNS=5, AWS_BENCH_LINES=2000000)
 *
 * The parse is timed with the built CLI (`services/cli/dist/main.js parse --output none FILE`)
 * when it exists and really parses, else with bench/parse-file.ts built to dist/.bench.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { z } from 'zod';
import { rng } from '@sightline/testkit';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const root = resolve(pkg, '../..');

const Env = z.object({
  AWS_BENCH_RUNS: z.coerce.number().int().min(1).max(50).default(5),
  AWS_BENCH_LINES: z.coerce.number().int().min(1000).max(50_000_000).default(2_000_000),
});
const env = Env.parse(process.env);


/**
 * A default-format file that looks like a busy VPC's 10-minute window: a few accounts, a few
 * hundred interfaces, a few thousand private and some tens of thousands public addresses,
 * mostly TCP, 1% REJECT, 0.5% NODATA lines, a few IPv6 flows.
 */
async function generate(file: string, lines: number): Promise<void> {
  const r = rng(20240601);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const accounts = ['123456789010', '210987654321', '555566667777'];
  const enis = Array.from({ length: 400 }, (_, i) => `eni-0${(0x1a2b3c4d5e6f7000 + i * 7919).toString(16).slice(0, 16)}`);
  const priv = Array.from({ length: 6000 }, (_, i) => `10.${(i >> 12) & 255}.${(i >> 6) & 63}.${(i * 37) & 255}`);
  const pub = Array.from({ length: 30000 }, () => `${11 + Math.floor(r() * 200)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`);
  const v6 = Array.from({ length: 500 }, (_, i) => `2001:db8:${(i * 13).toString(16)}::${(i * 97).toString(16)}`);
  const t0 = 1717200000;

  const tmp = file + '.tmp';
  const gz = createGzip({ level: 6 });
  const out = createWriteStream(tmp);
  gz.pipe(out);
  let buf = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n';
  for (let i = 0; i < lines; i++) {
    const acct = accounts[i % 97 === 0 ? 1 : i % 89 === 0 ? 2 : 0]!;
    const eni = pick(enis);
    const start = t0 + Math.floor(i / (lines / 600)) + Math.floor(r() * 5);
    if (r() < 0.005) {
      buf += `2 ${acct} ${eni} - - - - - - - ${start} ${start + 60} - NODATA\n`;
    } else {
      const ipv6 = r() < 0.01;
      const inbound = r() < 0.5;
      const local = ipv6 ? pick(v6) : pick(priv);
      const remote = ipv6 ? pick(v6) : r() < 0.6 ? pick(priv) : pick(pub);
      const proto = r() < 0.85 ? 6 : r() < 0.9 ? 17 : 1;
      const sport = proto === 1 ? 0 : inbound ? 1024 + Math.floor(r() * 64000) : pick([443, 80, 53, 5432, 6379, 8080]);
      const dport = proto === 1 ? 0 : inbound ? pick([443, 80, 53, 5432, 6379, 8080]) : 1024 + Math.floor(r() * 64000);
      const packets = 1 + Math.floor(r() * r() * 5000);
      const bytes = packets * (40 + Math.floor(r() * 1400));
      const action = r() < 0.01 ? 'REJECT' : 'ACCEPT';
      const [src, dst] = inbound ? [remote, local] : [local, remote];
      buf += `2 ${acct} ${eni} ${src} ${dst} ${sport} ${dport} ${proto} ${packets} ${bytes} ${start} ${start + 1 + Math.floor(r() * 59)} ${action} OK\n`;
    }
    if (buf.length > 1 << 20) {
      if (!gz.write(buf)) await once(gz, 'drain');
      buf = '';
    }
  }
  gz.end(buf);
  await once(out, 'close');
  renameSync(tmp, file);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timed(cmd: string, args: string[]): { ms: number; stdout: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/** The CLI counts only if it is built and really parses: a stub would make the ratio meaningless. */
function cliWorks(cli: string): boolean {
  if (!existsSync(cli)) return false;
  const sample = join(pkg, 'src/testdata/aws/default-v2.log');
  const r = spawnSync(process.execPath, [cli, 'parse', '--output', 'ndjson', sample], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('"format":"aws-vpc-text"');
}

async function main(): Promise<void> {
  const outDir = join(root, 'bench-out');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `aws-default-${env.AWS_BENCH_LINES}.log.gz`);
  if (!existsSync(file)) {
    process.stdout.write(`generating ${file} ...\n`);
    await generate(file, env.AWS_BENCH_LINES);
  }
  process.stdout.write(`input: ${file} (${(statSync(file).size / 1e6).toFixed(1)} MB gzip, ${env.AWS_BENCH_LINES} lines)\n`);

  const cli = join(root, 'services/cli/dist/main.js');
  let parseCmd: string[];
  let what: string;
  if (cliWorks(cli)) {
    parseCmd = [cli, 'parse', '--output', 'none', file];
    what = 'built CLI: node services/cli/dist/main.js parse --output none';
  } else {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(here, 'aws-bench.tsconfig.json')], { stdio: 'inherit' });
    parseCmd = [join(pkg, 'dist/.bench/bench/parse-file.js'), file];
    what = 'driver: node packages/parsers/dist/.bench/bench/parse-file.js (CLI not built or not parsing yet)';
  }
  process.stdout.write(`parse timed with ${what}\n`);

  const gzipMs: number[] = [];
  const parseMs: number[] = [];
  const ratios: number[] = [];
  let result = '';
  for (let i = 0; i < env.AWS_BENCH_RUNS; i++) {
    const g = timed('sh', ['-c', `gzip -dc '${file}' > /dev/null`]);
    const p = timed(process.execPath, parseCmd);
    result = p.stdout.trim();
    gzipMs.push(g.ms);
    parseMs.push(p.ms);
    ratios.push(p.ms / g.ms);
    process.stdout.write(`run ${i + 1}: gzip -dc ${g.ms.toFixed(0)} ms, parse ${p.ms.toFixed(0)} ms, ratio ${(p.ms / g.ms).toFixed(2)}\n`);
  }
  if (result) process.stdout.write(`parser output: ${result.slice(0, 300)}\n`);
  const rg = median(gzipMs);
  const rp = median(parseMs);
  process.stdout.write(
    `median of ${env.AWS_BENCH_RUNS}: gzip -dc ${rg.toFixed(0)} ms, parse ${rp.toFixed(0)} ms, ` +
      `ratio ${(rp / rg).toFixed(2)} (median of per-run ratios ${median(ratios).toFixed(2)}; target <= 1.5), ` +
      `${((env.AWS_BENCH_LINES / rp) * 1000 / 1e6).toFixed(2)} M lines/s\n`,
  );
}

await main();
