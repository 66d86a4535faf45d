/**
 * Throughput of the GCP NDJSON and Azure VNet parsers against a JSON.parse-only baseline on
 * the same bytes, in the same run. Prints medians of several runs and ratio = parser / baseline
 * (target <= 1.3), by wall time and by process CPU time (user + system, all threads, so the
 * garbage collector's helpers count): on a shared machine the CPU figure is the steadier one.
 *
 *   pnpm -C packages/parsers bench:json      (compiled JS, as the CLI runs; GCP_LINES, VNET_TUPLES, EMPTY_RECORDS, RUNS)
 *   ONLY=empty pnpm -C packages/parsers bench:json   (one block: gcp, vnet or empty)
 *
 * Baselines: GCP = per line, find the newline, decode UTF-8, JSON.parse. Azure = per record:
 * decode and JSON.parse each record's bytes (the least a streaming reader must do; the record
 * boundaries are given to the baseline for free); whole-document JSON.parse is a second baseline.
 * Also printed: each parser's general path (JSON.parse + hand checks, what runs when the fast
 * path declines a line or record) and, for GCP, the cost of running the zod LogEntry schema
 * on every line, which is why the hot path uses hand-written checks.
 *
 * Empty records: a PT1H.json of EMPTY_RECORDS (10^6) `{}` records, every one an error. Bad records
 * must cost about what reading their bytes costs, so the baseline is JSON.parse of the whole
 * document; rows are records handled (flows + errors). Then the same count of bad records that
 * are not empty (`{"time":5,"resourceId":"x"}`), which do go through JSON.parse and the checks.
 */
import { createGcpJsonParser, GcpLogEntrySchema } from '../src/formats/gcp-vpc-json/gcp-json.js';
import { createAzureVnetParser } from '../src/formats/azure-vnet/azure-vnet.js';
import { createAzureNsgParser } from '../src/formats/azure-nsg/azure-nsg.js';
import { newStats, type ParseContext, type StreamParser } from '../src/types.js';
import { gcpInput, vnetInput } from './json-inputs.js';

const GCP_LINES = Number(process.env.GCP_LINES ?? 100_000);
const VNET_TUPLES = Number(process.env.VNET_TUPLES ?? 200_000);
const EMPTY_RECORDS = Number(process.env.EMPTY_RECORDS ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 5);
/** `gcp`, `vnet` or `empty` to run one block only */
const ONLY = process.env.ONLY ?? '';
const CHUNK = 64 * 1024;

async function* chunks(buf: Buffer) {
  for (let i = 0; i < buf.length; i += CHUNK) yield buf.subarray(i, Math.min(buf.length, i + CHUNK));
}

/** rows produced (lines, tuples) */
type Job = () => Promise<number> | number;

interface Sample {
  wall: number;
  cpu: number;
}

async function measure(job: Job): Promise<[Sample, number]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await job();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [{ wall, cpu: (c.user + c.system) / 1000 }, n];
}

const parse = (parser: StreamParser, buf: Buffer) => async () => {
  const ctx: ParseContext = { source: 'bench', stats: newStats(), onIssue: (i) => { throw new Error(i.message); } };
  let rows = 0;
  for await (const b of parser(chunks(buf), ctx)) rows += b.length;
  return rows;
};

/** records handled, good or bad: for inputs whose records are all errors */
const handled = (parser: StreamParser, buf: Buffer) => async () => {
  const ctx: ParseContext = { source: 'bench', stats: newStats(), onIssue: () => undefined };
  for await (const b of parser(chunks(buf), ctx)) void b;
  return ctx.stats.records + ctx.stats.errors;
};

const gcpBaseline = (buf: Buffer, zod: boolean) => () => {
  let n = 0;
  let from = 0;
  for (;;) {
    const nl = buf.indexOf(10, from);
    if (nl === -1) break;
    const v: unknown = JSON.parse(buf.toString('utf8', from, nl));
    if (zod && !GcpLogEntrySchema.safeParse(v).success) throw new Error('zod rejected a line');
    n++;
    from = nl + 1;
  }
  return n;
};

type VnetDoc = { flowRecords: { flows: { flowGroups: { flowTuples: string[] }[] }[] } };
const tuplesOf = (r: VnetDoc) => r.flowRecords.flows[0]!.flowGroups[0]!.flowTuples.length;

const azureBaseline = (buf: Buffer, records: [number, number][]) => () => {
  let n = 0;
  for (const [a, b] of records) n += tuplesOf(JSON.parse(buf.toString('utf8', a, b)) as VnetDoc);
  return n;
};

const azureDocument = (buf: Buffer) => () => (JSON.parse(buf.toString('utf8')) as { records: VnetDoc[] }).records.reduce((n, r) => n + tuplesOf(r), 0);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

/** Runs the jobs in turn RUNS times (so drift on a shared machine hits all alike) after one warm-up each. */
async function compare(title: string, jobs: [string, Job][], runs: number): Promise<void> {
  for (const [, job] of jobs) await job();
  const wall = jobs.map(() => [] as number[]);
  const cpu = jobs.map(() => [] as number[]);
  let rows = -1;
  for (let r = 0; r < runs; r++) {
    for (let j = 0; j < jobs.length; j++) {
      const [s, n] = await measure(jobs[j]![1]);
      if (rows >= 0 && n !== rows) throw new Error(`${title}: ${jobs[j]![0]} gave ${n} rows, ${jobs[0]![0]} ${rows}`);
      rows = n;
      wall[j]!.push(s.wall);
      cpu[j]!.push(s.cpu);
    }
  }
  const w0 = median(wall[0]!);
  const c0 = median(cpu[0]!);
  for (let j = 0; j < jobs.length; j++) {
    const w = median(wall[j]!);
    const c = median(cpu[j]!);
    const krs = ((rows / w) * 1000) / 1e3;
    console.log(
      `${title.padEnd(5)} ${jobs[j]![0].padEnd(40)} ${w.toFixed(0).padStart(6)} ms ${krs.toFixed(0).padStart(6)} k rec/s   cpu ${c.toFixed(0).padStart(6)} ms` +
        (j === 0 ? '' : `   ratio wall ${(w / w0).toFixed(2)} cpu ${(c / c0).toFixed(2)}`),
    );
  }
}

async function main() {
  console.log(`${RUNS} runs, medians; ratios against the first line of each block (target for "parser": <= 1.3)`);
  if (ONLY === '' || ONLY === 'gcp') {
    const gcp = gcpInput(GCP_LINES);
    console.log(`GCP: ${GCP_LINES} lines, ${(gcp.length / 1e6).toFixed(1)} MB`);
    await compare(
      'GCP',
      [
        ['baseline: split + UTF-8 + JSON.parse', gcpBaseline(gcp, false)],
        ['parser', parse(createGcpJsonParser(), gcp)],
        ['parser, general path only', parse(createGcpJsonParser({ fastPath: false }), gcp)],
      ],
      RUNS,
    );
    await compare('GCP', [['baseline', gcpBaseline(gcp, false)], ['JSON.parse + zod safeParse per line', gcpBaseline(gcp, true)]], Math.min(RUNS, 3));
  }
  if (ONLY === '' || ONLY === 'vnet') {
    const vnet = vnetInput(VNET_TUPLES);
    console.log(`VNet: ${VNET_TUPLES} tuples in ${vnet.records.length} records, ${(vnet.buf.length / 1e6).toFixed(1)} MB`);
    await compare(
      'VNet',
      [
        ['baseline: UTF-8 + JSON.parse per record', azureBaseline(vnet.buf, vnet.records)],
        ['whole-document JSON.parse', azureDocument(vnet.buf)],
        ['parser', parse(createAzureVnetParser(), vnet.buf)],
        ['parser, general path only', parse(createAzureVnetParser({ fastPath: false }), vnet.buf)],
      ],
      RUNS,
    );
  }
  if (ONLY === '' || ONLY === 'empty') {
    // empty records, then bad records that are not empty: JSON.parse and the shape check run, zod words only the first ones
    for (const [label, record] of [['Empty', '{}'], ['Bad', '{"time":5,"resourceId":"x"}']] as const) {
      const doc = Buffer.from(`{"records":[${Array<string>(EMPTY_RECORDS).fill(record).join(',')}]}`);
      console.log(`Azure ${label.toLowerCase()} records: ${EMPTY_RECORDS} records \`${record}\`, ${(doc.length / 1e6).toFixed(1)} MB`);
      await compare(
        label,
        [
          ['whole-document JSON.parse', () => (JSON.parse(doc.toString('utf8')) as { records: unknown[] }).records.length],
          ['NSG parser (records + errors)', handled(createAzureNsgParser(), doc)],
          ['VNet parser (records + errors)', handled(createAzureVnetParser(), doc)],
        ],
        RUNS,
      );
    }
  }
}

await main();
