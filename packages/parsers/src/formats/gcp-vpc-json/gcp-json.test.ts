import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FlowRecordSchema, type FlowBatch, type FlowRow } from '@sightline/flow';
import { createGcpJsonParser, GcpLogEntrySchema, parseGcpJson } from './gcp-json.js';
import { parseRfc3339Ms } from '../../core/time.js';
import { newStats, ParseError, type ParseContext, type ParseIssue, type StreamParser } from '../../types.js';

const dir = new URL('../../testdata/gcp/', import.meta.url);
const sample = readFileSync(new URL('vpc_flows.ndjson', dir));
const bad = readFileSync(new URL('bad.ndjson', dir));

async function* chunked(buf: Uint8Array, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

interface Run {
  rows: FlowRow[];
  lines: string[];
  batches: FlowBatch[];
  issues: ParseIssue[];
  ctx: ParseContext;
}

async function run(buf: Uint8Array, chunk = 65536, parser: StreamParser = parseGcpJson, batchCapacity?: number): Promise<Run> {
  const issues: ParseIssue[] = [];
  const ctx: ParseContext = { source: 'gs://bucket/compute.googleapis.com/vpc_flows/2024/03/05/10:00:00_10:59:59_S0.json', stats: newStats(), onIssue: (i) => issues.push(i) };
  if (batchCapacity !== undefined) ctx.batchCapacity = batchCapacity;
  const rows: FlowRow[] = [];
  const lines: string[] = [];
  const batches: FlowBatch[] = [];
  for await (const b of parser(chunked(buf, chunk), ctx)) {
    batches.push(b);
    for (let i = 0; i < b.length; i++) {
      rows.push(b.row(i));
      lines.push(b.jsonLine(i));
    }
  }
  return { rows, lines, batches, issues, ctx };
}

const nullSide = (side: 'src' | 'dest'): FlowRow =>
  Object.fromEntries(
    [
      'instance_project_id', 'instance_region', 'instance_vm_name', 'instance_zone', 'instance_managed_instance_group_name',
      'instance_managed_instance_group_region', 'instance_managed_instance_group_zone', 'vpc_project_id', 'vpc_vpc_name',
      'vpc_subnetwork_name', 'location_continent', 'location_country', 'location_region', 'location_city', 'location_asn',
      'gke_cluster_name', 'gke_cluster_location', 'gke_pod_name', 'gke_pod_namespace', 'gke_workload_name', 'gke_workload_type',
      'gke_service_name', 'gke_service_namespace',
    ].map((k) => [`${side}_${k}`, null]),
  );

test('RFC 3339 times keep sub-millisecond digits and honour offsets', () => {
  assert.equal(parseRfc3339Ms('2019-06-14T03:45:37Z'), Date.UTC(2019, 5, 14, 3, 45, 37));
  assert.ok(Math.abs(parseRfc3339Ms('2019-06-14T03:45:37.186193305Z') - (Date.UTC(2019, 5, 14, 3, 45, 37) + 186.193305)) < 1e-3);
  assert.equal(parseRfc3339Ms('2019-06-14T05:45:37.5+02:00'), Date.UTC(2019, 5, 14, 3, 45, 37) + 500);
  for (const badTime of ['2019-06-14', '2019-13-14T03:45:37Z', '2019-06-14T03:45:37', '2019-06-14T03:45:37.Z', 'yesterday, 3 pm, UTC!', '2019-06-14T03:45:37Zx'])
    assert.ok(Number.isNaN(parseRfc3339Ms(badTime)), badTime);
});

test('every sample line satisfies the documented zod contract', () => {
  const lines = sample.toString('utf8').trim().split('\n');
  assert.equal(lines.length, 8);
  for (const l of lines) GcpLogEntrySchema.parse(JSON.parse(l));
});

test('sample: Elastic test event (SRC, int64 as strings), every field', async () => {
  const { rows, ctx, issues } = await run(sample);
  assert.deepEqual(issues, []);
  assert.equal(ctx.stats.records, 8);
  assert.equal(rows.length, 8);
  assert.deepEqual(rows[0], {
    cloud: 'gcp', format: 'gcp-vpc-json', account: 'my-sample-project',
    src_addr: '10.87.40.76', dst_addr: '203.0.113.12', src_port: 5601, dst_port: 33478, protocol: 6,
    packets: 7, bytes: 1776, packets_src_to_dst: null, bytes_src_to_dst: null, packets_dst_to_src: null, bytes_dst_to_src: null,
    start: '2019-06-14T03:45:37.186193Z', end: '2019-06-14T03:45:37.301953Z', action: null, direction: 'egress',
    reporter: 'SRC', rtt_msec: 36, project_id: 'my-sample-project', location: 'us-east1-b',
    subnetwork_id: '758019854043528829', subnetwork_name: 'default',
    log_name: 'projects/my-sample-project/logs/compute.googleapis.com%2Fvpc_flows', insert_id: 'ut8lbrffooxyw',
    timestamp: '2019-06-14T03:50:10.845446Z',
    ...nullSide('src'),
    src_instance_project_id: 'my-sample-project', src_instance_region: 'us-east1', src_instance_vm_name: 'kibana', src_instance_zone: 'us-east1-b',
    src_vpc_project_id: 'my-sample-project', src_vpc_vpc_name: 'default', src_vpc_subnetwork_name: 'default',
    ...nullSide('dest'),
    dest_location_continent: 'America', dest_location_country: 'usa', dest_location_asn: 15169,
  });
  FlowRecordSchema.parse(rows[0]);
});

test('sample: GKE pod to service reported by the source node, every field', async () => {
  const { rows } = await run(sample);
  const nodeA = {
    instance_project_id: 'shop-prod-4711', instance_region: 'europe-west1', instance_vm_name: 'gke-shop-prod-default-pool-1a2b3c4d-x7k2',
    instance_zone: 'europe-west1-b', instance_managed_instance_group_name: 'gke-shop-prod-default-pool-1a2b3c4d-grp',
    instance_managed_instance_group_region: null, instance_managed_instance_group_zone: 'europe-west1-b',
  };
  const nodeB = {
    instance_project_id: 'shop-prod-4711', instance_region: 'europe-west1', instance_vm_name: 'gke-shop-prod-default-pool-5e6f7a8b-q9m4',
    instance_zone: 'europe-west1-c', instance_managed_instance_group_name: 'gke-shop-prod-default-pool-5e6f7a8b-grp',
    instance_managed_instance_group_region: null, instance_managed_instance_group_zone: 'europe-west1-c',
  };
  const vpc = { vpc_project_id: 'shop-prod-4711', vpc_vpc_name: 'shop-vpc', vpc_subnetwork_name: 'gke-nodes-ew1' };
  const noLoc = { location_continent: null, location_country: null, location_region: null, location_city: null, location_asn: null };
  const pre = (p: string, o: Record<string, string | number | null>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}_${k}`, v]));
  assert.deepEqual(rows[2], {
    cloud: 'gcp', format: 'gcp-vpc-json', account: 'shop-prod-4711',
    src_addr: '10.44.1.17', dst_addr: '10.44.2.9', src_port: 51324, dst_port: 7070, protocol: 6,
    packets: 61, bytes: 48213, packets_src_to_dst: null, bytes_src_to_dst: null, packets_dst_to_src: null, bytes_dst_to_src: null,
    start: '2024-03-05T10:14:02.118Z', end: '2024-03-05T10:14:07.902441Z', action: null, direction: 'egress',
    reporter: 'SRC', rtt_msec: 2, project_id: 'shop-prod-4711', location: 'europe-west1-b',
    subnetwork_id: '5512341928376412345', subnetwork_name: 'gke-nodes-ew1',
    log_name: 'projects/shop-prod-4711/logs/compute.googleapis.com%2Fvpc_flows', insert_id: '1b7x3kf2m9qa',
    timestamp: '2024-03-05T10:14:40.001002Z',
    ...pre('src', { ...nodeA, ...vpc, ...noLoc }),
    src_gke_cluster_name: 'shop-prod', src_gke_cluster_location: 'europe-west1', src_gke_pod_name: 'frontend-7d9f8c6b5-2xkqp',
    src_gke_pod_namespace: 'web', src_gke_workload_name: 'frontend', src_gke_workload_type: 'DEPLOYMENT',
    src_gke_service_name: null, src_gke_service_namespace: null,
    ...pre('dest', { ...nodeB, ...vpc, ...noLoc }),
    dest_gke_cluster_name: 'shop-prod', dest_gke_cluster_location: 'europe-west1', dest_gke_pod_name: 'cartservice-0',
    dest_gke_pod_namespace: 'shop', dest_gke_workload_name: 'cartservice', dest_gke_workload_type: 'STATEFUL_SET',
    dest_gke_service_name: 'cartservice,cartservice-headless', dest_gke_service_namespace: 'shop,shop',
  });
  for (const r of rows) FlowRecordSchema.parse(r);
});

test('sample: reporters, IPv6, ICMP, gateways and unknown payload keys', async () => {
  const { rows } = await run(sample);
  const pick = (r: FlowRow, ks: string[]) => Object.fromEntries(ks.map((k) => [k, r[k]]));
  assert.deepEqual(pick(rows[1]!, ['direction', 'account', 'src_addr', 'dst_addr', 'packets', 'bytes', 'rtt_msec', 'src_location_asn', 'dest_instance_vm_name']), {
    direction: 'ingress', account: 'my-sample-project', src_addr: '198.51.100.248', dst_addr: '10.87.40.76', packets: 68, bytes: 173663, rtt_msec: 1, src_location_asn: 15169, dest_instance_vm_name: 'kibana',
  });
  // the DEST report of the same connection as row 2 carries its own counts
  assert.deepEqual(pick(rows[3]!, ['reporter', 'direction', 'packets', 'bytes', 'rtt_msec', 'end', 'location']), {
    reporter: 'DEST', direction: 'ingress', packets: 49, bytes: 39877, rtt_msec: 3, end: '2024-03-05T10:14:07.900Z', location: 'europe-west1-c',
  });
  assert.deepEqual(pick(rows[4]!, ['src_addr', 'dst_addr', 'protocol', 'rtt_msec', 'start', 'end', 'src_gke_workload_type', 'dest_gke_pod_name']), {
    src_addr: '2600:1900:4010:a1::5', dst_addr: '2001:4860:4860::8888', protocol: 17, rtt_msec: null,
    // .999999999 s is within the ~0.24 µs resolution of an epoch-ms double of the next second
    start: '2024-03-05T10:15:00.000Z', end: '2024-03-05T10:15:05.000Z', src_gke_workload_type: 'DAEMON_SET', dest_gke_pod_name: null,
  });
  assert.deepEqual(pick(rows[5]!, ['protocol', 'src_port', 'dst_port', 'packets', 'bytes', 'start', 'end']), {
    protocol: 1, src_port: null, dst_port: null, packets: 1, bytes: 84, start: '2024-03-05T10:16:10.500Z', end: '2024-03-05T10:16:10.500Z',
  });
  // gateway reporter: no direction; no resource labels, so the account is the reporting (dest) side's project
  assert.deepEqual(pick(rows[6]!, ['reporter', 'direction', 'account', 'project_id', 'location', 'dest_vpc_vpc_name']), {
    reporter: 'DEST_GATEWAY', direction: null, account: 'net-host-0001', project_id: null, location: null, dest_vpc_vpc_name: 'shared-vpc',
  });
  assert.deepEqual(rows[7]!.extra, {
    dest_google_service: '{"type":"GOOGLE_API","service_name":"storage.googleapis.com","connectivity":"PRIVATE_GOOGLE_ACCESS"}',
    network_service: '{"dscp":0}',
    traffic_direction: 'EGRESS',
  });
  assert.equal(rows[6]!.extra, undefined);
});

test('output does not depend on how the input is chunked', async () => {
  const whole = await run(sample);
  for (const size of [1, 7, 333, 4096]) assert.deepEqual((await run(sample, size)).lines, whole.lines, `chunk ${size}`);
});

test('batches hold batchCapacity rows, in line order', async () => {
  const { batches, rows } = await run(sample, 100, parseGcpJson, 3);
  assert.deepEqual(batches.map((b) => b.length), [3, 3, 2]);
  assert.deepEqual(rows.map((r) => r.insert_id), ['ut8lbrffooxyw', 'ut8lbrffooxzb', '1b7x3kf2m9qa', '1b7x3kf2m9qb', '9f3kz0q1lm2', 'ic0mp1x', 'gw7aa01', 'nx8kq2']);
});

test('bad lines are counted and reported with line, offset and zod path; parsing goes on', async () => {
  const { rows, issues, ctx } = await run(bad, 512);
  assert.deepEqual(rows.map((r) => r.insert_id), ['1b7x3kf2m9qa', '1b7x3kf2m9qb']);
  assert.deepEqual(ctx.stats, { records: 2, nodata: 0, skipdata: 0, errors: 9, incomplete: 1 });
  assert.deepEqual(issues.map((i) => [i.kind, i.line]), [
    ['error', 2], ['error', 3], ['error', 4], ['error', 5], ['error', 6], ['error', 7], ['error', 9], ['error', 10], ['error', 11],
    ['incomplete', 13],
  ]);
  const msg = (line: number) => issues.find((i) => i.line === line)!.message;
  assert.match(msg(2), /invalid UTF-8/);
  assert.match(msg(3), /invalid JSON/);
  assert.match(msg(4), /^jsonPayload\.connection\.src_port: /);
  assert.match(msg(5), /^jsonPayload\.connection\.dest_ip: invalid IP address "10\.44\.2\.300"/);
  assert.match(msg(6), /^jsonPayload\.connection: /);
  assert.match(msg(7), /invalid UTF-8/);
  assert.match(msg(9), /^jsonPayload\.end_time: not an RFC 3339 time/);
  assert.match(msg(10), /^jsonPayload\.bytes_sent: /);
  assert.match(msg(11), /^\(root\): /);
  // offsets point at the first byte of the bad line, raw holds exactly that line
  const lineStarts = [0];
  for (let i = 0; i < bad.length; i++) if (bad[i] === 10) lineStarts.push(i + 1);
  for (const i of issues) {
    assert.equal(i.offset, lineStarts[i.line! - 1]);
    assert.equal(i.source.startsWith('gs://bucket/'), true);
    assert.equal(Buffer.from(i.raw!).toString('latin1'), bad.subarray(i.offset!, i.offset! + i.raw!.length).toString('latin1'));
  }
});

function bigLine(size: number): Buffer {
  const entry = JSON.parse(sample.toString('utf8').split('\n')[2]!) as { jsonPayload: Record<string, unknown> };
  entry.jsonPayload.debug_blob = 'x'.repeat(size);
  return Buffer.from(JSON.stringify(entry) + '\n');
}

test('a 10 MB line parses within the default limit, and fails cleanly above a lower one', async () => {
  const line = bigLine(10 * 1024 * 1024);
  const input = Buffer.concat([line, sample]);
  const ok = await run(input);
  assert.equal(ok.rows.length, 9);
  assert.equal((ok.rows[0]!.extra as Record<string, string>).debug_blob!.length, 10 * 1024 * 1024);

  const capped = await run(input, 65536, createGcpJsonParser({ maxLineBytes: 1024 * 1024 }));
  assert.equal(capped.rows.length, 8);
  assert.equal(capped.ctx.stats.errors, 1);
  assert.equal(capped.issues[0]!.line, 1);
  assert.match(capped.issues[0]!.message, /exceeds the 1048576-byte limit/);
  assert.ok(capped.issues[0]!.raw!.length <= 64 * 1024);
});

test('input that is not GCP NDJSON at all is a ParseError', async () => {
  await assert.rejects(run(Buffer.alloc(0)), (e: unknown) => e instanceof ParseError && /empty input/.test(e.message));
  await assert.rejects(run(Buffer.from('\n \n\n')), ParseError);
  const aws = Buffer.from('version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n');
  await assert.rejects(run(aws), (e: unknown) => e instanceof ParseError && /not GCP VPC flow log NDJSON/.test(e.message));
  // a long non-GCP file is rejected after the sniff window, not at its end
  const many = Buffer.from('{"a":1}\n'.repeat(1000));
  await assert.rejects(run(many), (e: unknown) => e instanceof ParseError && (e as ParseError).line === 100);
});
