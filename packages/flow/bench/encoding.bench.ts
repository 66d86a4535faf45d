/**
 * Batch encode and decode per flow: the candidates for the Kafka message body, measured on
 * realistic AWS, GCP and Azure batches in one process. Prints, per cloud, the median over RUNS
 * runs of encode ns/flow, decode ns/flow (back to a FlowBatch with the same content, checked)
 * and bytes/flow, and each candidate's ratio to the chosen encoding (src/encoding.ts, lz4).
 *
 *   pnpm -C packages/flow bench                   # RUNS=5 FLOWS=5000
 *   RUNS=9 FLOWS=10000 ONLY=slfb,arrow pnpm -C packages/flow bench
 */
import { performance } from 'node:perf_hooks';
import { batchDiff, Codec, type FlowBatch } from '../src/index.js';
import { arrowFormat } from './candidates/arrow.js';
import { avroFormat } from './candidates/avro.js';
import { COMPRESSIONS, compressed } from './candidates/codecs.js';
import { jsonl } from './candidates/jsonl.js';
import { protobufFormat } from './candidates/protobuf.js';
import { slfb } from './candidates/slfb.js';
import type { Candidate } from './candidates/types.js';
import { BATCHES } from './data.js';

const RUNS = Number(process.env.RUNS ?? 5);
const FLOWS = Number(process.env.FLOWS ?? 5000);
/** minimum time per measurement, so short operations are repeated enough to be timed */
const MIN_MS = Number(process.env.MIN_MS ?? 40);
const ONLY = process.env.ONLY?.split(',').filter(Boolean);
const CHOSEN = 'slfb+lz4';

const candidates: Candidate[] = [
  slfb('slfb+lz4', Codec.Lz4),
  slfb('slfb+deflate-1', Codec.Deflate, 1),
  slfb('slfb+deflate-6', Codec.Deflate, 6),
  slfb('slfb (none)', Codec.None),
  ...[arrowFormat, avroFormat, protobufFormat, jsonl].flatMap((f) => COMPRESSIONS.map((c) => compressed(f, c))),
].filter((c) => !ONLY || c.name === CHOSEN || ONLY.some((o) => c.name.startsWith(o)));

/**
 * CPU nanoseconds (user + system of this process) per call. The machine is shared: wall time
 * swings with other people's jobs, CPU time much less. GC helper threads are included, as they
 * are real cost.
 */
function time(fn: () => void, minMs = MIN_MS): number {
  let iters = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  do {
    fn();
    iters++;
  } while (performance.now() - t0 < minMs);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1e3) / iters;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Sample {
  enc: number[];
  dec: number[];
  bytes: number;
  error?: string;
}

const clouds = Object.keys(BATCHES) as (keyof typeof BATCHES)[];
const batches: Record<string, FlowBatch> = Object.fromEntries(clouds.map((c) => [c, BATCHES[c](FLOWS)]));
const samples = new Map<string, Sample>();
const key = (cloud: string, cand: string): string => `${cloud}\t${cand}`;

// correctness first: a candidate that does not give back the same batch is not a candidate
for (const cloud of clouds) {
  for (const c of candidates) {
    const buf = c.encode(batches[cloud]!);
    let error: string | undefined;
    try {
      error = batchDiff(batches[cloud]!, c.decode(buf)) ?? undefined;
    } catch (e) {
      error = (e as Error).message;
    }
    samples.set(key(cloud, c.name), { enc: [], dec: [], bytes: buf.length / FLOWS, ...(error ? { error } : {}) });
  }
}

// one uncounted pass so every candidate is compiled by the optimizing tier before it is measured
for (const cloud of clouds) {
  for (const c of candidates) {
    if (samples.get(key(cloud, c.name))!.error) continue;
    const buf = c.encode(batches[cloud]!);
    time(() => c.encode(batches[cloud]!), MIN_MS / 2);
    time(() => c.decode(buf), MIN_MS / 2);
  }
}

const started = performance.now();
for (let run = 0; run < RUNS; run++) {
  for (const cloud of clouds) {
    const batch = batches[cloud]!;
    for (const c of candidates) {
      const s = samples.get(key(cloud, c.name))!;
      if (s.error) continue;
      // no forced GC between measurements: right after one the heap regrows and the next
      // measurement pays for it many times over; steady-state allocation cost is what counts
      let buf: Uint8Array = c.encode(batch);
      s.enc.push(time(() => (buf = c.encode(batch))) / FLOWS);
      s.dec.push(time(() => c.decode(buf)) / FLOWS);
    }
  }
  process.stderr.write(`run ${run + 1}/${RUNS} done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
console.log(`\nBatch encode and decode per flow: ${FLOWS} flows a batch, CPU ns/flow, median of ${RUNS} runs, node ${process.version}`);
console.log(`ratios are candidate / ${CHOSEN} (above 1 = slower or bigger than the chosen encoding)\n`);
const header = `${pad('candidate', 24)}${lpad('enc ns/flow', 12)}${lpad('dec ns/flow', 12)}${lpad('bytes/flow', 11)}${lpad('enc x', 8)}${lpad('dec x', 8)}${lpad('size x', 8)}`;
const totals = new Map<string, { enc: number; dec: number; bytes: number }>();
for (const cloud of clouds) {
  console.log(`## ${cloud}`);
  console.log(header);
  const chosen = samples.get(key(cloud, CHOSEN))!;
  const ce = median(chosen.enc);
  const cd = median(chosen.dec);
  for (const c of candidates) {
    const s = samples.get(key(cloud, c.name))!;
    const e = s.error ? NaN : median(s.enc);
    const d = s.error ? NaN : median(s.dec);
    const t = totals.get(c.name) ?? { enc: 0, dec: 0, bytes: 0 };
    totals.set(c.name, { enc: t.enc + e, dec: t.dec + d, bytes: t.bytes + s.bytes });
    console.log(
      `${pad((c.name === CHOSEN ? '* ' : '  ') + c.name, 24)}${lpad(e.toFixed(0), 12)}${lpad(d.toFixed(0), 12)}${lpad(s.bytes.toFixed(1), 11)}` +
        `${lpad((e / ce).toFixed(2), 8)}${lpad((d / cd).toFixed(2), 8)}${lpad((s.bytes / chosen.bytes).toFixed(2), 8)}${s.error ? '  ROUND TRIP FAILED: ' + s.error : ''}`,
    );
  }
  console.log('');
}
console.log('## mean of the three clouds');
console.log(header);
const ct = totals.get(CHOSEN)!;
for (const [name, t] of [...totals].sort((a, b) => a[1].dec - b[1].dec)) {
  const k = clouds.length;
  console.log(
    `${pad((name === CHOSEN ? '* ' : '  ') + name, 24)}${lpad((t.enc / k).toFixed(0), 12)}${lpad((t.dec / k).toFixed(0), 12)}${lpad((t.bytes / k).toFixed(1), 11)}` +
      `${lpad((t.enc / ct.enc).toFixed(2), 8)}${lpad((t.dec / ct.dec).toFixed(2), 8)}${lpad((t.bytes / ct.bytes).toFixed(2), 8)}`,
  );
}
