/**
 * Memory stays bounded whatever the input size: peak RSS of `sightline parse --output none`
 * on a 1 GiB input of each streaming format, against the peak RSS of the same command on a
 * tiny input of the same format, measured in this run (`/usr/bin/time -f %M`).
 *
 *   pnpm -C packages/parsers bench:memory          (MEMORY_BENCH_MB=1024)
 *
 * Inputs are generated once into bench-out/ (git-ignored) and reused.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const out = join(root, 'bench-out');
const cli = join(root, 'services/cli/dist/main.js');
const env = z.object({ MEMORY_BENCH_MB: z.coerce.number().int().min(1).max(8192).default(1024) }).parse(process.env);
const TARGET = env.MEMORY_BENCH_MB * 1024 * 1024;

type Gen = (i: number) => string;

const awsHeader = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n';
const aws: Gen = (i) =>
  `2 123456789010 eni-0a1b2c3d4e5f${(i % 97).toString().padStart(5, '0')} 10.0.${(i >> 8) & 255}.${i & 255} 10.1.${(i >> 4) & 255}.${(i * 7) & 255} ${1024 + (i % 60000)} 443 6 ${10 + (i % 90)} ${1000 + i} ${1700000000 + (i % 3600)} ${1700000060 + (i % 3600)} ${i % 50 ? 'ACCEPT' : 'REJECT'} OK\n`;

const gcp: Gen = (i) =>
  JSON.stringify({
    insertId: `id${i}`,
    jsonPayload: {
      connection: { src_ip: `10.44.${(i >> 8) & 255}.${i & 255}`, src_port: 30000 + (i % 30000), dest_ip: `10.45.${(i >> 3) & 255}.${(i * 3) & 255}`, dest_port: 8080, protocol: 6 },
      reporter: i % 2 ? 'SRC' : 'DEST',
      bytes_sent: String(1000 + i),
      packets_sent: String(10 + (i % 90)),
      rtt_msec: String(i % 40),
      start_time: '2024-03-05T10:00:00.123456789Z',
      end_time: '2024-03-05T10:00:05.654321Z',
      src_instance: { project_id: 'shop-prod', region: 'europe-west1', vm_name: `gke-node-${i % 40}`, zone: 'europe-west1-b' },
      src_gke_details: { cluster: { cluster_location: 'europe-west1', cluster_name: 'shop' }, pod: { pod_name: `api-${i % 300}`, pod_namespace: 'shop', pod_workload: { workload_name: 'api', workload_type: 'DEPLOYMENT' } } },
    },
    logName: 'projects/shop-prod/logs/compute.googleapis.com%2Fvpc_flows',
    resource: { labels: { location: 'europe-west1-b', project_id: 'shop-prod', subnetwork_id: '1', subnetwork_name: 'nodes' }, type: 'gce_subnetwork' },
    timestamp: '2024-03-05T10:00:06Z',
  }) + '\n';

const vnetTuples = (i: number) =>
  Array.from({ length: 50 }, (_, k) => `"${1709632800000 + k},10.5.${(i >> 8) & 255}.${i & 255},10.6.${k}.${(i * 3) & 255},${40000 + k},443,6,O,${'BCE'[k % 3]},NX,${k},${k * 100},${k},${k * 90}"`).join(',');
const vnet: Gen = (i) =>
  (i === 0 ? '' : ',') +
  JSON.stringify({
    time: '2024-03-05T10:00:52.5625085Z',
    flowLogVersion: 4,
    flowLogGUID: '66aa66aa-6666-4a6a-8a6a-666666666666',
    macAddress: '00224871C205',
    category: 'FlowLogFlowEvent',
    flowLogResourceID: '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/VNETFLOWLOG',
    targetResourceID: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/aks-vnet',
    operationName: 'FlowLogFlowEvent',
    flowRecords: { flows: [{ aclID: '00000000-1234-abcd-ef00-c1c2c3c4c5c6', flowGroups: [{ rule: 'DefaultRule_AllowInternetOutBound', flowTuples: ['X'] }] }] },
  }).replace('["X"]', `[${vnetTuples(i)}]`);

async function generate(file: string, head: string, gen: Gen, tail: string): Promise<void> {
  if (existsSync(file) && statSync(file).size >= TARGET) return;
  process.stderr.write(`generating ${file} (${env.MEMORY_BENCH_MB} MiB)...\n`);
  const tmp = file + '.tmp';
  const ws = createWriteStream(tmp);
  let size = 0;
  ws.write(head);
  for (let i = 0; size < TARGET; ) {
    let chunk = '';
    for (let k = 0; k < 2000; k++, i++) chunk += gen(i);
    size += chunk.length;
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end(tail);
  await once(ws, 'finish');
  renameSync(tmp, file);
}

function peakRssMb(file: string): { mb: number; seconds: number; stats: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%M %e', process.execPath, cli, 'parse', '--stats', '--output', 'none', file], { encoding: 'utf8' });
  const lines = r.stderr.trim().split('\n');
  const [kb, secs] = (lines.at(-1) ?? '').split(' ').map(Number);
  if (r.status !== 0 || kb === undefined || secs === undefined) throw new Error(`parse of ${file} failed (${r.status}): ${r.stderr.slice(-500)}`);
  return { mb: kb / 1024, seconds: secs, stats: lines.at(-2) ?? '' };
}

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error('build first: pnpm build');
  mkdirSync(out, { recursive: true });
  const cases = [
    { name: 'aws text', file: join(out, 'mem-aws.log'), head: awsHeader, gen: aws, tail: '' },
    { name: 'gcp ndjson', file: join(out, 'mem-gcp.ndjson'), head: '', gen: gcp, tail: '' },
    { name: 'azure vnet', file: join(out, 'mem-vnet.json'), head: '{"records":[', gen: vnet, tail: ']}' },
  ];
  console.log(`input ${env.MEMORY_BENCH_MB} MiB per format; peak RSS of sightline parse --output none (tiny input = baseline)`);
  console.log('format       big MiB  peak MiB  tiny peak MiB  ratio  seconds  stats');
  for (const c of cases) {
    await generate(c.file, c.head, c.gen, c.tail);
    const tiny = c.file + '.tiny';
    if (!existsSync(tiny)) {
      const ws = createWriteStream(tiny);
      ws.end(c.head + c.gen(0) + c.tail);
      await once(ws, 'finish');
    }
    const big = peakRssMb(c.file);
    const small = peakRssMb(tiny);
    const sizeMb = statSync(c.file).size / 1048576;
    console.log(
      `${c.name.padEnd(12)} ${sizeMb.toFixed(0).padStart(7)}  ${big.mb.toFixed(0).padStart(8)}  ${small.mb.toFixed(0).padStart(13)}  ${(big.mb / small.mb).toFixed(2).padStart(5)}  ${big.seconds.toFixed(1).padStart(7)}  ${big.stats}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
