import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { FlowRecordSchema, type FlowRow } from '@sightline/flow';
import { fileSource, parseAwsParquet } from './aws-parquet.js';
import { newStats, ParseError, type ParseIssue, type RandomAccessSource } from '../../types.js';

const path = (name: string): string => fileURLToPath(new URL(`../../testdata/aws/${name}`, import.meta.url));

/** Counts the bytes read, to check the reader never pulls in the whole file at once. */
function memorySource(data: Uint8Array, reads: number[]): RandomAccessSource {
  return {
    size: data.length,
    read: async (offset, length) => {
      reads.push(length);
      return data.subarray(offset, offset + length);
    },
  };
}

async function parse(src: RandomAccessSource, batchCapacity?: number) {
  const stats = newStats();
  const issues: ParseIssue[] = [];
  const rows: FlowRow[] = [];
  const ctx = { source: 's3://b/x.parquet', stats, onIssue: (i: ParseIssue) => issues.push(i), ...(batchCapacity ? { batchCapacity } : {}) };
  for await (const b of parseAwsParquet(src, ctx)) for (let i = 0; i < b.length; i++) rows.push(b.row(i));
  return { rows, stats, issues };
}

test('AWS Parquet (underscored columns, gzip, several row groups): every field of a record', async () => {
  const fh = await fileSource(path('aws-v5.gzip.parquet'));
  const { rows, stats, issues } = await parse(fh, 2);
  await fh.close();
  assert.deepEqual(stats, { records: 4, nodata: 1, skipdata: 0, errors: 1, incomplete: 0 });
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.message, /row 5 \(row group 0\): column srcaddr is not an IP address: "10.0.1.999"/);
  const r = rows[0]!;
  FlowRecordSchema.parse(r);
  assert.deepEqual(r, {
    cloud: 'aws', format: 'aws-vpc-parquet', account: '123456789012', src_addr: '10.0.1.5', dst_addr: '52.94.133.131',
    src_port: 44018, dst_port: 443, protocol: 6, packets: 12, bytes: 2170, packets_src_to_dst: null, bytes_src_to_dst: null,
    packets_dst_to_src: null, bytes_dst_to_src: null, start: '2021-05-04T15:04:21.000Z', end: '2021-05-04T15:05:21.000Z',
    action: 'accept', direction: 'egress', version: 5, account_id: '123456789012', interface_id: 'eni-0c3a7b5e9d1f24680',
    srcaddr: '10.0.1.5', dstaddr: '52.94.133.131', log_status: 'OK', vpc_id: 'vpc-0d1f0c3b2a5e4f6a7', subnet_id: 'subnet-0a9b8c7d6e5f40312',
    instance_id: 'i-0b1c2d3e4f5a69788', tcp_flags: 3, type: 'IPv4', pkt_srcaddr: '10.0.1.77', pkt_dstaddr: '52.94.133.131',
    region: 'us-east-1', az_id: 'use1-az1', sublocation_type: null, sublocation_id: null, pkt_src_aws_service: null,
    pkt_dst_aws_service: 'DYNAMODB', flow_direction: 'egress', traffic_path: 8, ecs_cluster_arn: null, ecs_cluster_name: null,
    ecs_container_instance_arn: null, ecs_container_instance_id: null, ecs_container_id: null, ecs_second_container_id: null,
    ecs_service_name: null, ecs_task_definition_arn: null, ecs_task_arn: null, ecs_task_id: null, reject_reason: null,
    resource_id: null, encryption_status: null, extra: { vendor_note: 'first' },
  });
  assert.equal(rows[1]!.direction, 'ingress');
  assert.equal(rows[1]!.traffic_path, null);
  assert.equal(rows[1]!.extra, undefined);
  // IPv6 normalized to RFC 5952, REJECT
  assert.equal(rows[2]!.src_addr, '2001:db8:1234:a100::1');
  assert.equal(rows[2]!.action, 'reject');
  assert.equal(rows[3]!.account, '210987654321');
  assert.equal(rows[3]!.sublocation_type, 'localzone');
});

test('hyphenated column names and zstd give the same records', async () => {
  const a = await parse(memorySource(readFileSync(path('aws-v5.gzip.parquet')), []));
  const b = await parse(memorySource(readFileSync(path('aws-v5-hyphen.zstd.parquet')), []));
  assert.deepEqual(b.rows.map(({ extra, ...r }) => r), a.rows.map(({ extra, ...r }) => r));
  assert.deepEqual(b.stats, a.stats);
});

test('row groups are read one by one, rows numbered across groups, small batches', async () => {
  const fh = await fileSource(path('aws-v2-rowgroups.gzip.parquet'));
  const { rows, stats, issues } = await parse(fh, 1000);
  await fh.close();
  assert.equal(stats.records, 4999);
  assert.equal(stats.errors, 1);
  assert.match(issues[0]!.message, /^row 4500 \(row group 2\): column srcaddr is not an IP address: "not-an-ip"/);
  rows.forEach((r, k) => {
    const i = k < 4499 ? k : k + 1;
    assert.equal(r.src_port, 1024 + i);
    assert.equal(r.bytes, (i + 1) * 100);
    assert.equal(r.src_addr, `10.0.${Math.floor(i / 256)}.${i % 256}`);
  });
});

test('not AWS, not Parquet, empty: ParseError naming the source', async () => {
  for (const [data, re] of [
    [readFileSync(path('not-aws.parquet')), /name no known AWS flow-log field/],
    [readFileSync(path('default-v2.log')), /not a readable Parquet file/],
    [new Uint8Array(0), /not a Parquet file/],
    [readFileSync(path('aws-v5.gzip.parquet')).subarray(0, 3000), /Parquet/],
  ] as const) {
    await assert.rejects(parse(memorySource(data, [])), (e: unknown) => {
      assert.ok(e instanceof ParseError, String(e));
      assert.match(e.message, /^s3:\/\/b\/x\.parquet/);
      assert.match(e.message, re);
      return true;
    });
  }
});
