/**
 * Throughput of the GCP NDJSON and Azure VNet parsers against a JSON.parse-only baseline on
 * the same bytes, in the same run. Prints medians of several runs and ratio = parser / baseline
 * (target <= 1.3).
 *
 *   pnpm -C packages/parsers bench:json            # GCP_LINES=100000 VNET_TUPLES=200000 RUNS=5
 *
 * Baselines: GCP = per line, find the newline, decode UTF-8, JSON.parse. Azure = per record:
 * decode and JSON.parse each record's bytes (the least a streaming reader must do; the record
 * boundaries are given to the baseline for free). Whole-document JSON.parse is printed for reference.
 * Also printed: the cost of running the zod LogEntry schema on every GCP line, which is why the
 * hot path uses hand-written checks.
 */
import { createGcpJsonParser, GcpLogEntrySchema } from '../src/gcp-json.js';
import { createAzureVnetParser, parseAzureVnet } from '../src/azure-vnet.js';
import { newStats, type ParseContext, type StreamParser } from '../src/types.js';
import { gcpInput, vnetInput } from './json-inputs.js';

const GCP_LINES = Number(process.env.GCP_LINES ?? 100_000);
const VNET_TUPLES = Number(process.env.VNET_TUPLES ?? 200_000);
const RUNS = Number(process.env.RUNS ?? 5);
/** `gcp` or `vnet` to run one side only */
const ONLY = process.env.ONLY ?? '';
const CHUNK = 64 * 1024;

// --- runners --------------------------------------------------------------------------------

async function* chunks(buf: Buffer) {
  for (let i = 0; i < buf.length; i += CHUNK) yield buf.subarray(i, Math.min(buf.length, i + CHUNK));
}

async function runParser(parser: StreamParser, buf: Buffer): Promise<[number, number]> {
  const ctx: ParseContext = { source: 'bench', stats: newStats(), onIssue: (i) => { throw new Error(i.message); } };
  const t = performance.now();
  let rows = 0;
  for await (const b of parser(chunks(buf), ctx)) rows += b.length;
  return [performance.now() - t, rows];
}

function gcpBaseline(buf: Buffer, zod: boolean): [number, number] {
  const t = performance.now();
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
  return [performance.now() - t, n];
}

function azureBaseline(buf: Buffer, records: [number, number][]): [number, number] {
  const t = performance.now();
  let n = 0;
  for (const [a, b] of records) {
    const r = JSON.parse(buf.toString('utf8', a, b)) as { flowRecords: { flows: { flowGroups: { flowTuples: string[] }[] }[] } };
    n += r.flowRecords.flows[0]!.flowGroups[0]!.flowTuples.length;
  }
  return [performance.now() - t, n];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};
const fmt = (ms: number, n: number) => `${ms.toFixed(0).padStart(6)} ms  ${((n / ms) * 1000 / 1e3).toFixed(0).padStart(6)} k rec/s`;

async function main() {
  const doGcp = ONLY !== 'vnet';
  const doVnet = ONLY !== 'gcp';
  const gcp = gcpInput(doGcp ? GCP_LINES : 0);
  const vnet = vnetInput(doVnet ? VNET_TUPLES : 0);
  console.log(`GCP: ${doGcp ? GCP_LINES : 0} lines, ${(gcp.length / 1e6).toFixed(1)} MB; VNet: ${doVnet ? VNET_TUPLES : 0} tuples in ${vnet.records.length} records, ${(vnet.buf.length / 1e6).toFixed(1)} MB; ${RUNS} runs, medians`);
  const parser = createGcpJsonParser();
  const gcpGeneral = createGcpJsonParser({ fastPath: false });
  const general = createAzureVnetParser({ fastPath: false });
  const g = { p: [] as number[], b: [] as number[], z: [] as number[], g: [] as number[] };
  const a = { p: [] as number[], b: [] as number[], d: [] as number[], g: [] as number[] };
  // warm-up, then alternate so drift on a shared machine hits both sides alike
  if (doGcp) {
    const head = gcp.subarray(0, gcp.subarray(0, 20_000_000).lastIndexOf(10) + 1);
    await runParser(parser, head);
    await runParser(gcpGeneral, head);
  }
  if (doVnet) {
    await runParser(parseAzureVnet, vnet.buf);
    await runParser(general, vnet.buf);
  }
  let gRows = 0;
  let aRows = 0;
  for (let r = 0; r < RUNS; r++) {
    if (doGcp) {
      const [bt, bn] = gcpBaseline(gcp, false);
      const [pt, pn] = await runParser(parser, gcp);
      if (bn !== pn) throw new Error(`GCP: baseline ${bn} lines, parser ${pn} rows`);
      g.b.push(bt);
      g.p.push(pt);
      gRows = pn;
      const [gt, gn] = await runParser(gcpGeneral, gcp);
      if (gn !== bn) throw new Error(`GCP: baseline ${bn} lines, general path ${gn} rows`);
      g.g.push(gt);
    }
    if (doVnet) {
      const [at, an] = azureBaseline(vnet.buf, vnet.records);
      const [qt, qn] = await runParser(parseAzureVnet, vnet.buf);
      if (an !== qn) throw new Error(`VNet: baseline ${an} tuples, parser ${qn} rows`);
      a.b.push(at);
      a.p.push(qt);
      aRows = qn;
      const t = performance.now();
      JSON.parse(vnet.buf.toString('utf8'));
      a.d.push(performance.now() - t);
      const [gt, gn] = await runParser(general, vnet.buf);
      if (gn !== an) throw new Error(`VNet: baseline ${an} tuples, general path ${gn} rows`);
      a.g.push(gt);
    }
  }
  if (doGcp) {
    for (let r = 0; r < Math.min(RUNS, 3); r++) g.z.push(gcpBaseline(gcp, true)[0]);
    console.log(`GCP   baseline (split + JSON.parse per line) ${fmt(median(g.b), gRows)}`);
    console.log(`GCP   parser, general path (JSON.parse)      ${fmt(median(g.g), gRows)}`);
    console.log(`GCP   parser                                 ${fmt(median(g.p), gRows)}`);
    console.log(`GCP   JSON.parse + zod safeParse per line    ${fmt(median(g.z), gRows)}   (zod/baseline ${(median(g.z) / median(g.b)).toFixed(2)})`);
    console.log(`GCP   ratio parser/baseline = ${(median(g.p) / median(g.b)).toFixed(2)}   (target <= 1.3; general path/baseline ${(median(g.g) / median(g.b)).toFixed(2)})`);
  }
  if (doVnet) {
    console.log(`VNet  baseline (JSON.parse per record)       ${fmt(median(a.b), aRows)}`);
    console.log(`VNet  whole-document JSON.parse              ${fmt(median(a.d), aRows)}`);
    console.log(`VNet  parser, general path (JSON.parse)      ${fmt(median(a.g), aRows)}`);
    console.log(`VNet  parser                                 ${fmt(median(a.p), aRows)}`);
    console.log(`VNet  ratio parser/baseline = ${(median(a.p) / median(a.b)).toFixed(2)}   (target <= 1.3; parser/whole-document ${(median(a.p) / median(a.d)).toFixed(2)}, general path/baseline ${(median(a.g) / median(a.b)).toFixed(2)})`);
  }
}

await main();
