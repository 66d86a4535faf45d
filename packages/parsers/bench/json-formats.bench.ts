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
import { parseAzureVnet } from '../src/azure-vnet.js';
import { newStats, type ParseContext, type StreamParser } from '../src/types.js';

const GCP_LINES = Number(process.env.GCP_LINES ?? 100_000);
const VNET_TUPLES = Number(process.env.VNET_TUPLES ?? 200_000);
const TUPLES_PER_RECORD = 100;
const RUNS = Number(process.env.RUNS ?? 5);
const CHUNK = 64 * 1024;

// --- inputs ---------------------------------------------------------------------------------

function gcpInput(n: number): Buffer {
  const parts: string[] = [];
  const base = Date.UTC(2024, 2, 5, 10, 0, 0);
  for (let i = 0; i < n; i++) {
    const a = i % 250;
    const b = (i * 7) % 250;
    const t0 = new Date(base + (i % 3_600_000)).toISOString().replace('Z', '123456Z');
    const t1 = new Date(base + (i % 3_600_000) + 5000).toISOString().replace('Z', '654321Z');
    const side = (s: 'src' | 'dest', ip: number) => ({
      [`${s}_instance`]: { project_id: 'shop-prod-4711', region: 'europe-west1', vm_name: `gke-shop-prod-default-pool-1a2b3c4d-${ip % 40}`, zone: 'europe-west1-b', managed_instance_group: { name: 'gke-shop-prod-default-pool-1a2b3c4d-grp', zone: 'europe-west1-b' } },
      [`${s}_vpc`]: { project_id: 'shop-prod-4711', subnetwork_name: 'gke-nodes-ew1', vpc_name: 'shop-vpc' },
      [`${s}_gke_details`]: {
        cluster: { cluster_location: 'europe-west1', cluster_name: 'shop-prod' },
        pod: { pod_name: `svc-${ip % 60}-7d9f8c6b5-${ip}x`, pod_namespace: `ns-${ip % 8}`, pod_workload: { workload_name: `svc-${ip % 60}`, workload_type: 'DEPLOYMENT' } },
        ...(s === 'dest' ? { service: [{ service_name: `svc-${ip % 60}`, service_namespace: `ns-${ip % 8}` }] } : {}),
      },
    });
    const e = {
      insertId: `1b7x3kf${i.toString(36)}`,
      jsonPayload: {
        connection: { src_ip: `10.44.${a >> 4}.${a}`, src_port: 30000 + (i % 30000), dest_ip: `10.44.${b >> 4}.${b}`, dest_port: 8080, protocol: 6 },
        reporter: i % 2 ? 'SRC' : 'DEST',
        rtt_msec: String(i % 40),
        bytes_sent: String(1000 + i),
        packets_sent: String(10 + (i % 90)),
        start_time: t0,
        end_time: t1,
        ...side('src', a),
        ...side('dest', b),
      },
      logName: 'projects/shop-prod-4711/logs/compute.googleapis.com%2Fvpc_flows',
      receiveTimestamp: t1,
      resource: { labels: { location: 'europe-west1-b', project_id: 'shop-prod-4711', subnetwork_id: '5512341928376412345', subnetwork_name: 'gke-nodes-ew1' }, type: 'gce_subnetwork' },
      timestamp: t1,
    };
    parts.push(JSON.stringify(e));
  }
  return Buffer.from(parts.join('\n') + '\n');
}

function vnetInput(tuples: number): { buf: Buffer; records: [number, number][] } {
  const states = ['B', 'C', 'C', 'E', 'D'];
  let s = '{"records":[';
  const records: [number, number][] = [];
  const base = 1709632800000;
  let t = 0;
  for (let r = 0; t < tuples; r++) {
    const flowTuples: string[] = [];
    for (let k = 0; k < TUPLES_PER_RECORD && t < tuples; k++, t++) {
      const st = states[t % 5]!;
      const c = st === 'B' || st === 'D' ? '0,0,0,0' : `${t % 90},${(t % 90) * 700},${t % 70},${(t % 70) * 1400}`;
      flowTuples.push(`${base + t * 10},10.224.${(t >> 8) & 3}.${t & 255},10.224.1.${(t * 7) & 255},${30000 + (t % 30000)},443,6,${t & 1 ? 'I' : 'O'},${st},${t % 3 ? 'NX' : 'X'},${c}`);
    }
    const rec = {
      time: new Date(base + r * 60000).toISOString(),
      flowLogVersion: 4,
      flowLogGUID: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee',
      macAddress: '6045BDA1B2C3',
      category: 'FlowLogFlowEvent',
      flowLogResourceID: '/SUBSCRIPTIONS/AAAA0A0A-BB1B-CC2C-DD3D-EEEEEE4E4E4E/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/VNETFLOWLOG',
      targetResourceID: '/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/shop-rg/providers/Microsoft.Network/virtualNetworks/shop-vnet',
      operationName: 'FlowLogFlowEvent',
      flowRecords: { flows: [{ aclID: '5d2f1e0c-7a6b-4c3d-9e8f-0a1b2c3d4e5f', flowGroups: [{ rule: 'DefaultRule_AllowVnetOutBound', flowTuples }] }] },
    };
    if (r > 0) s += ',';
    const start = Buffer.byteLength(s);
    s += JSON.stringify(rec);
    records.push([start, Buffer.byteLength(s)]);
  }
  s += ']}';
  return { buf: Buffer.from(s), records };
}

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
  const gcp = gcpInput(GCP_LINES);
  const vnet = vnetInput(VNET_TUPLES);
  console.log(`GCP: ${GCP_LINES} lines, ${(gcp.length / 1e6).toFixed(1)} MB; VNet: ${VNET_TUPLES} tuples in ${vnet.records.length} records, ${(vnet.buf.length / 1e6).toFixed(1)} MB; ${RUNS} runs, medians`);
  const parser = createGcpJsonParser();
  const g = { p: [] as number[], b: [] as number[], z: [] as number[] };
  const a = { p: [] as number[], b: [] as number[], d: [] as number[] };
  // warm-up, then alternate so drift on a shared machine hits both sides alike
  await runParser(parser, gcp.subarray(0, Math.min(gcp.length, 20_000_000)).subarray(0, gcp.subarray(0, 20_000_000).lastIndexOf(10) + 1));
  await runParser(parseAzureVnet, vnet.buf);
  let gRows = 0;
  let aRows = 0;
  for (let r = 0; r < RUNS; r++) {
    const [bt, bn] = gcpBaseline(gcp, false);
    const [pt, pn] = await runParser(parser, gcp);
    if (bn !== pn) throw new Error(`GCP: baseline ${bn} lines, parser ${pn} rows`);
    g.b.push(bt);
    g.p.push(pt);
    gRows = pn;
    const [at, an] = azureBaseline(vnet.buf, vnet.records);
    const [qt, qn] = await runParser(parseAzureVnet, vnet.buf);
    if (an !== qn) throw new Error(`VNet: baseline ${an} tuples, parser ${qn} rows`);
    a.b.push(at);
    a.p.push(qt);
    aRows = qn;
    const t = performance.now();
    JSON.parse(vnet.buf.toString('utf8'));
    a.d.push(performance.now() - t);
  }
  for (let r = 0; r < Math.min(RUNS, 3); r++) g.z.push(gcpBaseline(gcp, true)[0]);
  console.log(`GCP   baseline (split + JSON.parse per line) ${fmt(median(g.b), gRows)}`);
  console.log(`GCP   parser                                 ${fmt(median(g.p), gRows)}`);
  console.log(`GCP   JSON.parse + zod safeParse per line    ${fmt(median(g.z), gRows)}   (zod/baseline ${(median(g.z) / median(g.b)).toFixed(2)})`);
  console.log(`GCP   ratio parser/baseline = ${(median(g.p) / median(g.b)).toFixed(2)}   (target <= 1.3)`);
  console.log(`VNet  baseline (JSON.parse per record)       ${fmt(median(a.b), aRows)}`);
  console.log(`VNet  whole-document JSON.parse              ${fmt(median(a.d), aRows)}`);
  console.log(`VNet  parser                                 ${fmt(median(a.p), aRows)}`);
  console.log(`VNet  ratio parser/baseline = ${(median(a.p) / median(a.b)).toFixed(2)}   (target <= 1.3)`);
}

await main();
