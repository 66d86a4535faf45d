import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { colIndex, FlowBatch, type FlowRow } from '@sightline/flow';
import { fileSource } from '../aws-vpc-parquet/aws-parquet.js';
import { parseObject, type ObjectInput } from '../../parse-object.js';
import { detectFormat } from '../../detect.js';
import { formatOfRow } from '../../registry.js';
import { newStats, type ParseIssue } from '../../types.js';
import { AWS_TGW_DEFAULT_FORMAT } from './fields.js';

const path = (name: string) => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));
const GZ = '123456789012_vpcflowlogs_us-east-1_fl-0f1e2d3c4b5a69788_20251202T0600Z_3c9a1f2e.log.gz';
const KEY = `AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/12/02/${GZ}`;

function input(file: string, name = file): ObjectInput {
  return { name, open: () => (async function* () { yield readFileSync(path(file)); })(), randomAccess: () => fileSource(path(file)) };
}

async function parse(file: string, name?: string) {
  const stats = newStats();
  const issues: ParseIssue[] = [];
  const batches: FlowBatch[] = [];
  for await (const b of parseObject(input(file, name), { source: file, stats, onIssue: (i) => issues.push(i) })) batches.push(b);
  const rows: FlowRow[] = batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => b.row(i)));
  return { rows, stats, issues, batches };
}

/** The first record of the samples, every documented field where it lands. */
const FIRST: FlowRow = {
  cloud: 'aws', account: '123456789012', src_addr: '10.1.0.5', dst_addr: '10.2.0.9', src_port: 44344, dst_port: 443, protocol: 6,
  packets: 10, bytes: 5120, start: '2025-12-02T06:00:00.000Z', end: '2025-12-02T06:01:00.000Z', action: null, direction: 'ingress',
  version: 6, account_id: '123456789012', srcaddr: '10.1.0.5', dstaddr: '10.2.0.9', log_status: 'OK', type: 'IPv4', tcp_flags: 3,
  region: 'us-east-1', flow_direction: 'ingress', pkt_src_aws_service: null, pkt_dst_aws_service: null,
  resource_type: 'TransitGateway', tgw_id: 'tgw-0e1f2a3b4c5d6e7f8', tgw_attachment_id: 'tgw-attach-0a1b2c3d4e5f60718',
  tgw_src_vpc_account_id: '111122223333', tgw_dst_vpc_account_id: '444455556666', tgw_src_vpc_id: 'vpc-0aa1bb2cc3dd4ee5f',
  tgw_dst_vpc_id: 'vpc-0bb2cc3dd4ee5ff60', tgw_src_subnet_id: 'subnet-0a1a2a3a4a5a6a7a8', tgw_dst_subnet_id: 'subnet-0b1b2b3b4b5b6b7b8',
  tgw_src_eni: 'eni-0a0b0c0d0e0f10111', tgw_dst_eni: 'eni-0b0c0d0e0f1011121', tgw_src_az_id: 'use1-az1', tgw_dst_az_id: 'use1-az2',
  tgw_pair_attachment_id: 'tgw-attach-0b2c3d4e5f6071829', packets_lost_no_route: 0, packets_lost_blackhole: 0,
  packets_lost_mtu_exceeded: 0, packets_lost_ttl_expired: 0,
};

function expectFirst(row: FlowRow | undefined, format: string): void {
  assert.ok(row);
  for (const [k, v] of Object.entries({ ...FIRST, format })) assert.deepEqual(row[k], v, `${format}: ${k}`);
}

test('the default format has every documented Transit Gateway field, 36 of them', () => {
  assert.equal(AWS_TGW_DEFAULT_FORMAT.length, 36);
  const v6 = ['resource-type', 'tgw-id', 'tgw-attachment-id', 'tgw-src-vpc-account-id', 'tgw-dst-vpc-account-id', 'tgw-src-vpc-id', 'tgw-dst-vpc-id',
    'tgw-src-subnet-id', 'tgw-dst-subnet-id', 'tgw-src-eni', 'tgw-dst-eni', 'tgw-src-az-id', 'tgw-dst-az-id', 'tgw-pair-attachment-id',
    'packets-lost-no-route', 'packets-lost-blackhole', 'packets-lost-mtu-exceeded', 'packets-lost-ttl-expired'];
  for (const f of v6) assert.ok(AWS_TGW_DEFAULT_FORMAT.includes(f), f);
});

test('detection: a Transit Gateway header or Parquet schema is told from a VPC flow log', async () => {
  assert.equal(detectFormat(readFileSync(path('default-v6.log'))), 'aws-tgw-text');
  assert.equal(detectFormat(readFileSync(path('custom-v6.log'))), 'aws-tgw-text');
  assert.equal(detectFormat(Buffer.from('version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n')), 'aws-vpc-text');
  const { rows } = await parse('default-v6.gzip.parquet');
  assert.equal(rows[0]!.format, 'aws-tgw-parquet');
});

test('default format, plain text: every field, NODATA counted and not emitted, IPv6 normalized', async () => {
  const { rows, stats, issues } = await parse('default-v6.log');
  assert.deepEqual(issues, []);
  assert.equal(rows.length, 6);
  assert.equal(stats.nodata, 1);
  expectFirst(rows[0], 'aws-tgw-text');
  assert.equal(rows[1]!.direction, 'egress');
  assert.equal(rows[2]!.packets_lost_mtu_exceeded, 2);
  assert.equal(rows[2]!.tcp_flags, 19);
  assert.equal(rows[3]!.resource_type, 'TransitGatewayAttachment');
  assert.equal(rows[3]!.tgw_src_vpc_id, null, 'a VPN attachment: `-` is null');
  assert.equal(rows[3]!.packets_lost_blackhole, 4);
  assert.equal(rows[4]!.src_addr, '2001:db8:1::5');
  assert.equal(rows[4]!.type, 'IPv6');
  assert.equal(rows[4]!.packets_lost_ttl_expired, 1);
  assert.equal(rows[5]!.packets_lost_no_route, 3);
  assert.equal(rows[5]!.pkt_dst_aws_service, 'DYNAMODB');
  assert.equal(rows[0]!.interface_id, null, 'a VPC-only field is null on a Transit Gateway row');
  assert.equal(rows[0]!.extra, undefined, 'no field left over as an extra');
});

test('gzip under its S3 object name, as the collector reads it: the same rows', async () => {
  const plain = await parse('default-v6.log');
  const gz = await parse(GZ, KEY);
  assert.deepEqual(gz.rows, plain.rows);
  assert.equal(gz.stats.nodata, 1);
});

test('custom format: a subset in another order lands in the same columns', async () => {
  const { rows, issues } = await parse('custom-v6.log');
  assert.deepEqual(issues, []);
  assert.equal(rows.length, 6);
  const r = rows[0]!;
  assert.equal(r.format, 'aws-tgw-text');
  assert.equal(r.tgw_attachment_id, 'tgw-attach-0a1b2c3d4e5f60718');
  assert.equal(r.bytes, 5120);
  assert.equal(r.packets, 10);
  assert.equal(r.tgw_dst_vpc_id, 'vpc-0bb2cc3dd4ee5ff60');
  assert.equal(r.account, null, 'no account-id in this format');
  assert.equal(rows[3]!.packets_lost_blackhole, 4);
});

test('Parquet: the same rows as the text, format aws-tgw-parquet', async () => {
  const text = await parse('default-v6.log');
  const pq = await parse('default-v6.gzip.parquet');
  assert.deepEqual(pq.issues, []);
  assert.equal(pq.rows.length, 6);
  expectFirst(pq.rows[0], 'aws-tgw-parquet');
  assert.deepEqual(pq.rows.map((r) => ({ ...r, format: null })), text.rows.map((r) => ({ ...r, format: null })));
});

test('row rules: interface key is the recording attachment; each side scoped by its own VPC and account, a VPN side by its attachment', async () => {
  const { batches } = await parse('default-v6.log');
  const b = batches[0]!;
  const spec = formatOfRow(b.get(0, colIndex('format')) as string);
  assert.equal(spec?.id, 'aws-tgw-text');
  assert.equal(spec.interfaceKey(b, 0), 'tgw-attach-0a1b2c3d4e5f60718');
  assert.equal(spec.interfaceKey(b, 1), 'tgw-attach-0b2c3d4e5f6071829');
  assert.deepEqual(spec.scope(b, 0, 'src', null), { account: '111122223333', network: 'vpc-0aa1bb2cc3dd4ee5f' });
  assert.deepEqual(spec.scope(b, 0, 'dst', null), { account: '444455556666', network: 'vpc-0bb2cc3dd4ee5ff60' });
  // ingress at the VPN attachment: the source came through it
  assert.deepEqual(spec.scope(b, 3, 'src', null), { account: null, network: 'tgw-attach-0c3d4e5f607182930' });
  assert.deepEqual(spec.scope(b, 3, 'dst', null), { account: '111122223333', network: 'vpc-0aa1bb2cc3dd4ee5f' });
});
