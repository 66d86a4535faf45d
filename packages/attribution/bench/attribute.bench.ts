/**
 * `Attributor.attributeBatch` per flow: both ends of AWS flows looked up at their own time in the
 * EKS sample cluster (`samples/eks/kube.json`), with the candidate-cluster scope, the pkt-* rule and
 * the writing of the nine `*_k8s_*` columns of each end. Baseline in the same run: two
 * `Map<string, number>` lookups of the addresses per flow (the least any attribution must do).
 * Per second of this process's CPU time; medians of ROUNDS rounds.
 *
 * Run: pnpm -C packages/attribution bench:attribute   (env ROUNDS=7 FLOWS=200000)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { colIndex, FlowBatch } from '@sightline/flow';
import { fromKubectlList } from '@sightline/kube-model';
import { Attributor } from '../src/attributor.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const FLOWS = Number(process.env.FLOWS ?? 200_000);
const BATCH = 8192;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ACCOUNT = '123456789012';
const VPC = 'vpc-0c4f5e6d7a8b9c0d1';

const dump = fromKubectlList(JSON.parse(fs.readFileSync(path.join(ROOT, 'samples/eks/kube.json'), 'utf8')), { source: 'samples/eks/kube.json' });
const attributor = new Attributor();
attributor.addCluster('shop-eks', { cloud: 'aws', accounts: [ACCOUNT], networks: [VPC] }).load(dump.objects);

// the addresses flows carry: pods and nodes of the cluster, and a share of outside addresses
const inside: string[] = [];
for (const o of dump.objects) {
  const ips = (o as { podIPs?: unknown; hostNetwork?: unknown }).podIPs;
  if (Array.isArray(ips) && (o as { hostNetwork?: unknown }).hostNetwork !== true) for (const ip of ips) if (typeof ip === 'string') inside.push(ip);
}
if (inside.length === 0) throw new Error('no pod addresses in samples/eks/kube.json');
const outside = ['192.0.2.10', '198.51.100.23', '203.0.113.80', '52.94.228.167', '10.0.200.9'];
let seed = 11;
const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const addr = (): string => (rnd() < 0.8 ? inside[Math.floor(rnd() * inside.length)]! : outside[Math.floor(rnd() * outside.length)]!);
const T = Date.parse('2026-03-10T12:30:00Z');

const batches: FlowBatch[] = [];
for (let done = 0; done < FLOWS; done += BATCH) {
  const n = Math.min(BATCH, FLOWS - done);
  const b = new FlowBatch(n);
  const S = (name: string) => b.strings(colIndex(name));
  const N = (name: string) => b.numbers(colIndex(name));
  const [cloud, account, vpc, src, dst] = [S('cloud'), S('account'), S('vpc_id'), S('src_addr'), S('dst_addr')];
  const [start, end] = [N('start'), N('end')];
  for (let i = 0; i < n; i++) {
    cloud[i] = 'aws';
    account[i] = ACCOUNT;
    vpc[i] = VPC;
    src[i] = addr();
    dst[i] = addr();
    start[i] = T + Math.floor(rnd() * 600_000);
    end[i] = start[i]! + 60_000;
  }
  b.length = n;
  batches.push(b);
}
const baseline = new Map(inside.map((ip, i) => [ip, i]));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpu = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

const attr: number[] = [];
const base: number[] = [];
let ends = 0;
let sink = 0;
for (let r = 0; r < ROUNDS; r++) {
  let t0 = cpu();
  ends = 0;
  for (const b of batches) {
    const s = attributor.attributeBatch(b);
    ends += s.attributedSrc + s.attributedDst;
  }
  attr.push(FLOWS / (cpu() - t0));
  t0 = cpu();
  for (const b of batches) {
    const src = b.columns[colIndex('src_addr')] as (string | null)[];
    const dst = b.columns[colIndex('dst_addr')] as (string | null)[];
    for (let i = 0; i < b.length; i++) sink += (baseline.get(src[i]!) ?? -1) + (baseline.get(dst[i]!) ?? -1);
  }
  base.push(FLOWS / (cpu() - t0));
}
const a = median(attr);
const m = median(base);
console.log(`attributeBatch: ${FLOWS} AWS flows (${inside.length} pod addresses, ${ends} ends attributed), medians of ${ROUNDS} rounds`);
console.log(`  ${(a / 1e6).toFixed(2)} M flows per CPU second (${(1e9 / a).toFixed(0)} ns a flow, both ends)`);
console.log(`  baseline two Map<string> lookups a flow: ${(m / 1e6).toFixed(2)} M flows per CPU second; attributeBatch takes ${(m / a).toFixed(2)}x the baseline's time`);
if (sink === Number.MIN_VALUE) console.log('(unreachable: keeps the baseline loop from being optimized away)');
