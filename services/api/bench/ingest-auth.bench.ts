// What unauthenticated gzip uploads cost the api process, against authenticated tiny ingests in the
// same run; and the memory that authenticated gzip bombs take (bounded by the inflations at once). The server is its own process (`src/main.ts`, or `--main FILE` to measure another
// build of it, e.g. the sources of an older commit), so its CPU time and RSS are read from /proc
// and the client's work is not counted.
//   pnpm -C services/api bench                       (needs Kafka: `pnpm infra:up kafka`)
//   BENCH_BOMBS=16 BENCH_ROUNDS=2 BENCH_TINY=300 ... to change the load
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { z } from 'zod';
import { endpoints } from '@sightline/testkit';
import { hashToken } from '../src/tokens.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BOMBS = z.coerce.number().int().min(1).parse(process.env.BENCH_BOMBS ?? 16);
const ROUNDS = z.coerce.number().int().min(1).parse(process.env.BENCH_ROUNDS ?? 2);
const TINY = z.coerce.number().int().min(1).parse(process.env.BENCH_TINY ?? 300);
const mi = process.argv.indexOf('--main');
const MAIN = path.resolve(mi === -1 ? path.join(HERE, '../src/main.ts') : process.argv[mi + 1]!);
const TICK = 100; // USER_HZ on Linux

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** user + system CPU seconds and current RSS (MiB) of a process, from /proc. */
function usage(pid: number): { cpu: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / TICK;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu, rssMiB: Number(rss?.[1] ?? 0) / 1024 };
}

function post(port: number, body: Buffer, headers: Record<string, string>, localAddress = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', localAddress, port, method: 'POST', path: '/v1/tenants/bench/kube-meta', headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    // a server that answers before reading may close while the body is still going: that is an answer too
    req.on('error', () => resolve(-1));
    req.end(body);
  });
}

const dir = mkdtempSync(path.join(tmpdir(), 'api-bench-'));
const token = randomBytes(24).toString('base64url');
writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify({ clusters: [{ tokenSha256: hashToken(token), tenant: 'bench', cluster: 'c1' }] }));
const port = await freePort();
const prefix = `bench-api-${randomBytes(4).toString('hex')}.`;
writeFileSync(path.join(dir, 'api.json'), JSON.stringify({
  listen: { host: '127.0.0.1', port },
  metrics: { host: '127.0.0.1', port: 0 },
  tokensFile: path.join(dir, 'tokens.json'),
  kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: prefix },
  logLevel: 'error',
}));
const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--config', path.join(dir, 'api.json')], { cwd: path.join(HERE, '..'), stdio: ['ignore', 'ignore', 'inherit'] });
const pid = child.pid!;
try {
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => request({ host: '127.0.0.1', port, path: '/healthz' }, (res) => { res.resume(); resolve(res.statusCode === 200); }).on('error', () => resolve(false)).end());
    if (up) break;
    if (child.exitCode !== null) throw new Error(`the api exited with ${child.exitCode} before answering /healthz`);
    if (i > 600) throw new Error('the api did not answer /healthz within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }

  // baseline: authenticated tiny deltas (nothing to publish, so this is the HTTP + auth + parse path)
  const tiny = Buffer.from(JSON.stringify({ cluster: 'c1', resourceVersion: '1', sentAt: new Date().toISOString(), full: false, epoch: 1 }));
  for (let i = 0; i < 20; i++) await post(port, tiny, { authorization: `Bearer ${token}` }); // warm-up
  const t0 = usage(pid);
  const statuses = new Map<number, number>();
  for (let i = 0; i < TINY; i++) {
    const s = await post(port, tiny, { authorization: `Bearer ${token}` });
    statuses.set(s, (statuses.get(s) ?? 0) + 1);
  }
  const t1 = usage(pid);
  const tinyCpu = (t1.cpu - t0.cpu) / TINY;

  // 64 KB gzip bodies (zeros: they inflate about 1000x, past the 64 MiB limit), BOMBS at once
  const bomb = gzipSync(Buffer.alloc(66 * 1024 * 1024)).subarray(0, 64 * 1024);

  // without a token
  const bombStatuses = new Map<number, number>();
  let peak = t1.rssMiB;
  const sampler = setInterval(() => { peak = Math.max(peak, usage(pid).rssMiB); }, 20);
  const b0 = usage(pid);
  for (let r = 0; r < ROUNDS; r++) {
    const codes = await Promise.all(Array.from({ length: BOMBS }, () => post(port, bomb, { 'content-encoding': 'gzip' })));
    for (const s of codes) bombStatuses.set(s, (bombStatuses.get(s) ?? 0) + 1);
  }
  clearInterval(sampler);
  const b1 = usage(pid);

  // then with the cluster's token (a leaked or buggy agent), from another address (the one above spent its
  // failed-authentication burst): the inflations that may run at once bound the memory
  const authStatuses = new Map<number, number>();
  let authPeak = usage(pid).rssMiB;
  const authSampler = setInterval(() => { authPeak = Math.max(authPeak, usage(pid).rssMiB); }, 20);
  const a0 = usage(pid);
  const authCodes = await Promise.all(Array.from({ length: BOMBS }, () => post(port, bomb, { 'content-encoding': 'gzip', authorization: `Bearer ${token}` }, '127.0.0.2')));
  for (const s of authCodes) authStatuses.set(s, (authStatuses.get(s) ?? 0) + 1);
  clearInterval(authSampler);
  const a1 = usage(pid);

  const bombCpu = (b1.cpu - b0.cpu) / (BOMBS * ROUNDS);
  const result = {
    main: path.relative(process.cwd(), MAIN),
    tinyRequests: TINY,
    tinyStatuses: Object.fromEntries(statuses),
    tinyCpuMs: +(tinyCpu * 1000).toFixed(3),
    bombs: BOMBS * ROUNDS,
    bombStatuses: Object.fromEntries(bombStatuses),
    bombCpuMs: +(bombCpu * 1000).toFixed(3),
    cpuRatio: +(bombCpu / Math.max(tinyCpu, 1e-6)).toFixed(2),
    rssBeforeMiB: Math.round(b0.rssMiB),
    rssPeakMiB: Math.round(peak),
    rssGrowthMiB: Math.round(peak - b0.rssMiB),
    authBombs: BOMBS,
    authBombStatuses: Object.fromEntries(authStatuses),
    authBombCpuMs: +(((a1.cpu - a0.cpu) / BOMBS) * 1000).toFixed(3),
    authRssPeakMiB: Math.round(authPeak),
    /** against the RSS before any upload (the unauthenticated ones may have grown it already) */
    authRssGrowthMiB: Math.round(authPeak - t1.rssMiB),
  };
  console.log(`tiny authenticated ingest: ${result.tinyCpuMs} ms CPU each (${TINY} requests, ${JSON.stringify(result.tinyStatuses)})`);
  console.log(`unauthenticated 64 KB gzip: ${result.bombCpuMs} ms CPU each (${result.bombs} requests, ${BOMBS} at once, ${JSON.stringify(result.bombStatuses)}), ${result.cpuRatio}x a tiny ingest`);
  console.log(`server RSS ${result.rssBeforeMiB} MiB before the unauthenticated uploads, peak ${result.rssPeakMiB} MiB (+${result.rssGrowthMiB} MiB)`);
  console.log(`authenticated 64 KB gzip, ${BOMBS} at once: ${result.authBombCpuMs} ms CPU each (${JSON.stringify(result.authBombStatuses)}), RSS peak ${result.authRssPeakMiB} MiB (+${result.authRssGrowthMiB} MiB over the RSS before any upload)`);
  console.log(JSON.stringify(result));
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  const kafka = new kafkajs.Kafka({ clientId: 'api-bench', brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [`${prefix}kube-meta`] }).catch(() => undefined);
  await admin.disconnect();
}
