/**
 * Writes the Transit Gateway samples in testdata/ (see testdata/README.md): the default format
 * (every v2-v6 field, in the documented order) as plain text, gzip under the S3 object name AWS
 * gives it, and Parquet (underscored names, the documented Parquet types, gzip); and a custom
 * format (a subset in another order).
 *
 *   node --import tsx packages/parsers/src/formats/aws-tgw/make-testdata.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { AWS_TGW_DEFAULT_FORMAT } from './fields.js';

const out = fileURLToPath(new URL('./testdata/', import.meta.url));

const TGW = 'tgw-0e1f2a3b4c5d6e7f8';
const ATT_A = 'tgw-attach-0a1b2c3d4e5f60718'; // VPC attachment, account 111122223333, vpc-0aa1...
const ATT_B = 'tgw-attach-0b2c3d4e5f6071829'; // VPC attachment, account 444455556666, vpc-0bb2...
const ATT_VPN = 'tgw-attach-0c3d4e5f607182930'; // VPN attachment: no VPC, no subnet, no ENI
const VPC_A = 'vpc-0aa1bb2cc3dd4ee5f';
const VPC_B = 'vpc-0bb2cc3dd4ee5ff60';

/** One default-format record per line, every field in AWS_TGW_DEFAULT_FORMAT order. */
const ROWS: readonly (readonly (string | number)[])[] = [
  // pod 10.1.0.5 in VPC A calls 10.2.0.9 in VPC B (another account); recorded at A's attachment, ingress
  [6, 'TransitGateway', '123456789012', TGW, ATT_A, '111122223333', '444455556666', VPC_A, VPC_B, 'subnet-0a1a2a3a4a5a6a7a8', 'subnet-0b1b2b3b4b5b6b7b8',
    'eni-0a0b0c0d0e0f10111', 'eni-0b0c0d0e0f1011121', 'use1-az1', 'use1-az2', ATT_B, '10.1.0.5', '10.2.0.9', 44344, 443, 6, 10, 5120,
    1764655200, 1764655260, 'OK', 'IPv4', 0, 0, 0, 0, 3, 'us-east-1', 'ingress', '-', '-'],
  // the same flow leaving at B's attachment, egress
  [6, 'TransitGateway', '123456789012', TGW, ATT_B, '111122223333', '444455556666', VPC_A, VPC_B, 'subnet-0a1a2a3a4a5a6a7a8', 'subnet-0b1b2b3b4b5b6b7b8',
    'eni-0a0b0c0d0e0f10111', 'eni-0b0c0d0e0f1011121', 'use1-az1', 'use1-az2', ATT_A, '10.1.0.5', '10.2.0.9', 44344, 443, 6, 10, 5120,
    1764655200, 1764655260, 'OK', 'IPv4', 0, 0, 0, 0, 3, 'us-east-1', 'egress', '-', '-'],
  // the reply, with packets dropped for the MTU (8500 bytes across a VPC attachment)
  [6, 'TransitGateway', '123456789012', TGW, ATT_B, '444455556666', '111122223333', VPC_B, VPC_A, 'subnet-0b1b2b3b4b5b6b7b8', 'subnet-0a1a2a3a4a5a6a7a8',
    'eni-0b0c0d0e0f1011121', 'eni-0a0b0c0d0e0f10111', 'use1-az2', 'use1-az1', ATT_A, '10.2.0.9', '10.1.0.5', 443, 44344, 6, 12, 98304,
    1764655200, 1764655260, 'OK', 'IPv4', 0, 0, 2, 0, 19, 'us-east-1', 'ingress', '-', '-'],
  // from on premises over the VPN attachment (no VPC on the source side) into VPC A; a blackhole route drops some
  [6, 'TransitGatewayAttachment', '123456789012', TGW, ATT_VPN, '-', '111122223333', '-', VPC_A, '-', 'subnet-0a1a2a3a4a5a6a7a8',
    '-', 'eni-0a0b0c0d0e0f10111', '-', 'use1-az1', ATT_A, '192.168.10.20', '10.1.0.5', 51000, 8080, 6, 7, 840,
    1764655201, 1764655261, 'OK', 'IPv4', 0, 4, 0, 0, 2, 'us-east-1', 'ingress', '-', '-'],
  // IPv6 between the two VPCs (written long, normalized to RFC 5952), TTL expired on some
  [6, 'TransitGateway', '123456789012', TGW, ATT_A, '111122223333', '444455556666', VPC_A, VPC_B, 'subnet-0a1a2a3a4a5a6a7a8', 'subnet-0b1b2b3b4b5b6b7b8',
    'eni-0a0b0c0d0e0f10111', 'eni-0b0c0d0e0f1011121', 'use1-az1', 'use1-az2', ATT_B, '2001:0db8:0001:0000:0000:0000:0000:0005', '2001:db8:2::9', 33000, 53, 17, 2, 180,
    1764655202, 1764655262, 'OK', 'IPv6', 0, 0, 0, 1, '-', 'us-east-1', 'ingress', '-', '-'],
  // to an AWS service address range, no route for part of it
  [6, 'TransitGateway', '123456789012', TGW, ATT_A, '111122223333', '-', VPC_A, '-', 'subnet-0a1a2a3a4a5a6a7a8', '-',
    'eni-0a0b0c0d0e0f10111', '-', 'use1-az1', '-', '-', '10.1.0.7', '52.94.133.131', 40100, 443, 6, 3, 180,
    1764655203, 1764655263, 'OK', 'IPv4', 3, 0, 0, 0, 2, 'us-east-1', 'ingress', '-', 'DYNAMODB'],
];

const header = AWS_TGW_DEFAULT_FORMAT.join(' ');
const nodata = ['6', 'TransitGateway', '123456789012', TGW, ATT_A, ...Array<string>(AWS_TGW_DEFAULT_FORMAT.length - 5).fill('-')];
nodata[AWS_TGW_DEFAULT_FORMAT.indexOf('start')] = '1764655200';
nodata[AWS_TGW_DEFAULT_FORMAT.indexOf('end')] = '1764655260';
nodata[AWS_TGW_DEFAULT_FORMAT.indexOf('log-status')] = 'NODATA';
const text = [header, ...ROWS.map((r) => r.join(' ')), nodata.join(' ')].join('\n') + '\n';
writeFileSync(`${out}default-v6.log`, text);
// the S3 object name: {account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmmZ}_{hash}.log.gz
writeFileSync(`${out}123456789012_vpcflowlogs_us-east-1_fl-0f1e2d3c4b5a69788_20251202T0600Z_3c9a1f2e.log.gz`, gzipSync(text));

// custom format: a subset, in another order
const CUSTOM = ['tgw-attachment-id', 'flow-direction', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'bytes', 'packets',
  'start', 'end', 'tgw-src-vpc-id', 'tgw-dst-vpc-id', 'packets-lost-blackhole', 'log-status'];
const pick = (r: readonly (string | number)[]) => CUSTOM.map((n) => r[AWS_TGW_DEFAULT_FORMAT.indexOf(n)]!).join(' ');
writeFileSync(`${out}custom-v6.log`, [CUSTOM.join(' '), ...ROWS.map(pick)].join('\n') + '\n');

// Parquet: underscored names and the types of the documented field table
const INT32 = new Set(['version', 'srcport', 'dstport', 'tcp-flags']);
const INT64 = new Set(['protocol', 'packets', 'bytes', 'start', 'end', 'packets-lost-no-route', 'packets-lost-blackhole', 'packets-lost-mtu-exceeded', 'packets-lost-ttl-expired']);
const cols = AWS_TGW_DEFAULT_FORMAT.map((n) => `"${n.replaceAll('-', '_')}" ${INT32.has(n) ? 'INTEGER' : INT64.has(n) ? 'BIGINT' : 'VARCHAR'}`);
const lit = (v: string | number, n: string) => (v === '-' ? 'NULL' : INT32.has(n) || INT64.has(n) ? String(v) : `'${v}'`);
const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
await db.run(`CREATE TABLE flows (${cols.join(', ')})`);
await db.run(`INSERT INTO flows VALUES ${ROWS.map((r) => `(${r.map((v, i) => lit(v, AWS_TGW_DEFAULT_FORMAT[i]!)).join(', ')})`).join(',\n')}`);
await db.run(`COPY flows TO '${out}default-v6.gzip.parquet' (FORMAT parquet, COMPRESSION gzip)`);
db.closeSync();
