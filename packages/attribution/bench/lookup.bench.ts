/**
 * IP-to-endpoint lookups per second on one core, with 100,000 pods and 1,000,000 historical
 * leases in the index (target: 10 million per second), and the memory per lease.
 * Ratios measured in the same run: against the target, and against a plain Map<string, number>
 * of current state (what keeping only "now" costs: no history, no time).
 *
 * Run: pnpm -C packages/attribution bench   (env ROUNDS=7 QUERIES=2000000 PODS=100000 HISTORY=1000000)
 */
import { LeaseIndex, uintToIpv4 } from '../src/lease-index.js';

const PODS = Number(process.env.PODS ?? 100_000);
const HISTORY = Number(process.env.HISTORY ?? 1_000_000);
const QUERIES = Number(process.env.QUERIES ?? 2_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const TARGET = 10_000_000;
const gc = (globalThis as { gc?: () => void }).gc;

let seed = 7;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);

const NOW = Date.parse('2025-03-11T00:00:00Z');
const DAY = 24 * 3600 * 1000;
// pod IPs from 10.0.0.0/12, as a VPC CNI or a /12 pod CIDR hands them out
const ipOf = (i: number) => ((10 << 24) | (i * 7 + 11)) >>> 0;

function heap(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const before = heap();
const ix = new LeaseIndex();
// each address: a chain of consecutive leases over the last 24 h (pods coming and going), the last one open
const perIp = Math.max(0, Math.round(HISTORY / PODS));
let leases = 0;
const buildStart = performance.now();
for (let p = 0; p < PODS; p++) {
  const ip = ipOf(p);
  let t = NOW - DAY;
  for (let k = 0; k < perIp; k++) {
    const len = ((DAY / (perIp + 1)) * (0.5 + rnd())) | 0;
    ix.addV4(ip, t, t + len, (leases++ % 1_000_000) + 1);
    t += len + 1000;
  }
  ix.addV4(ip, t, Infinity, (leases++ % 1_000_000) + 1);
}
ix.compact(NOW - DAY); // what the enricher does periodically: contiguous lists
const buildMs = performance.now() - buildStart;
const after = heap();

// queries: 95% pod addresses at a random time of the last 24 h, 5% addresses nobody holds
const qIp = new Uint32Array(QUERIES);
const qT = new Float64Array(QUERIES);
const qStr: string[] = new Array<string>(QUERIES);
for (let i = 0; i < QUERIES; i++) {
  qIp[i] = rnd() < 0.95 ? ipOf((rnd() * PODS) | 0) : ((192 << 24) | ((rnd() * 65536) | 0)) >>> 0;
  qT[i] = NOW - rnd() * DAY;
  qStr[i] = uintToIpv4(qIp[i]!);
}

// the enricher's usual case: flows minutes old (AWS delivers 1-10 min aggregates within ~10 min)
const qTRecent = new Float64Array(QUERIES);
for (let i = 0; i < QUERIES; i++) qTRecent[i] = NOW - rnd() * 15 * 60 * 1000;
const runRecent = () => {
  let acc = 0;
  for (let i = 0; i < QUERIES; i++) acc += ix.lookupV4(qIp[i]!, qTRecent[i]!, qTRecent[i]!);
  return acc;
};

// baseline: current state only, keyed by the address string
const current = new Map<string, number>();
for (let p = 0; p < PODS; p++) current.set(uintToIpv4(ipOf(p)), p);

function rate(fn: () => number): { perSec: number; sink: number } {
  const t0 = performance.now();
  const sink = fn();
  const s = (performance.now() - t0) / 1000;
  return { perSec: QUERIES / s, sink };
}
const runV4 = () => {
  let acc = 0;
  for (let i = 0; i < QUERIES; i++) acc += ix.lookupV4(qIp[i]!, qT[i]!, qT[i]!);
  return acc;
};
const qIpI = new Int32Array(qIp.buffer);
const CHUNK = 8192; // a FlowBatch's rows
const outBuf = new Int32Array(CHUNK);
const headBuf = new Int32Array(CHUNK);
const runMany = () => {
  let acc = 0;
  for (let i = 0; i < QUERIES; i += CHUNK) {
    const n = Math.min(CHUNK, QUERIES - i);
    ix.lookupManyV4(qIpI.subarray(i, i + n), qT.subarray(i, i + n), qT.subarray(i, i + n), n, outBuf, headBuf);
    for (let j = 0; j < n; j++) acc += outBuf[j]!;
  }
  return acc;
};
const runStr = () => {
  let acc = 0;
  for (let i = 0; i < QUERIES; i++) acc += ix.lookup(qStr[i]!, qT[i]!, qT[i]!);
  return acc;
};
const runMap = () => {
  let acc = 0;
  for (let i = 0; i < QUERIES; i++) acc += current.get(qStr[i]!) ?? -1;
  return acc;
};

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const res = { recent: [] as number[], many: [] as number[], v4: [] as number[], str: [] as number[], map: [] as number[] };
let sink = 0;
for (let r = 0; r < ROUNDS + 1; r++) {
  const a = rate(runV4);
  const b = rate(runStr);
  const c = rate(runMap);
  const d = rate(runMany);
  const e = rate(runRecent);
  sink += a.sink + b.sink + c.sink + d.sink + e.sink;
  if (r === 0) continue; // warm-up round (JIT)
  res.v4.push(a.perSec);
  res.str.push(b.perSec);
  res.map.push(c.perSec);
  res.many.push(d.perSec);
  res.recent.push(e.perSec);
}

const M = (x: number) => (x / 1e6).toFixed(2) + ' M/s';
const v4 = med(res.v4);
const many = med(res.many);
const recent = med(res.recent);
const str = med(res.str);
const map = med(res.map);
console.log(`lease index: ${PODS} addresses, ${ix.size} leases (${leases} built in ${buildMs.toFixed(0)} ms), ${QUERIES} queries x ${ROUNDS} rounds, medians`);
console.log(`  times uniform over the last 24 h (worst case: every lease list scanned at random depth):`);
console.log(`  lookupManyV4 (8192 per call)      ${M(many)}   ratio to target 10 M/s: ${(many / TARGET).toFixed(2)}   ratio to Map<string> current-state baseline: ${(many / map).toFixed(2)}`);
console.log(`  lookupV4 (uint32 key, flow time)   ${M(v4)}   ratio to target 10 M/s: ${(v4 / TARGET).toFixed(2)}   ratio to Map<string> current-state baseline: ${(v4 / map).toFixed(2)}`);
console.log(`  lookup (address string, flow time) ${M(str)}   ratio to target: ${(str / TARGET).toFixed(2)}   ratio to baseline: ${(str / map).toFixed(2)}`);
console.log(`  times in the last 15 min (the usual enrichment lag):`);
console.log(`  lookupV4 recent                    ${M(recent)}   ratio to target: ${(recent / TARGET).toFixed(2)}   ratio to baseline: ${(recent / map).toFixed(2)}`);
console.log(`  baseline Map<string, number> get   ${M(map)}   (current state only, no history)`);
console.log(`memory: typed arrays ${(ix.bytes / ix.size).toFixed(1)} B/lease; heap+arrayBuffers delta ${((after - before) / ix.size).toFixed(1)} B/lease${gc ? '' : ' (run with --expose-gc for a stable figure)'}`);
if (sink === 0.5) console.log('');
