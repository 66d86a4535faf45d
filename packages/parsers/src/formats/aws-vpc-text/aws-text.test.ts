import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { FlowRecordSchema, type FlowBatch, type FlowRow } from '@sightline/flow';
import { parseAwsText } from './aws-text.js';
import { decompress } from '../../core/decompress.js';
import { newStats, ParseError, type ParseIssue, type ParseStats } from '../../types.js';

const dir = new URL('../../testdata/aws/', import.meta.url);
const read = (name: string): Buffer => readFileSync(new URL(name, dir));

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, Math.min(data.length, i + size));
}

interface Parsed {
  rows: FlowRow[];
  stats: ParseStats;
  issues: ParseIssue[];
  batches: FlowBatch[];
}

async function parse(data: Uint8Array, opts: { chunk?: number; batchCapacity?: number; source?: string } = {}): Promise<Parsed> {
  const stats = newStats();
  const issues: ParseIssue[] = [];
  const source = opts.source ?? 'test.log';
  const ctx = { source, stats, onIssue: (i: ParseIssue) => issues.push(i), ...(opts.batchCapacity ? { batchCapacity: opts.batchCapacity } : {}) };
  const rows: FlowRow[] = [];
  const batches: FlowBatch[] = [];
  for await (const b of parseAwsText(decompress(chunked(data, opts.chunk ?? 65536), { source }), ctx)) {
    batches.push(b);
    for (let i = 0; i < b.length; i++) rows.push(b.row(i));
  }
  return { rows, stats, issues, batches };
}

/** Every AWS field, null; a test overrides the ones its sample line sets. */
const AWS_NULLS: FlowRow = Object.fromEntries(
  [
    'src_addr', 'dst_addr', 'src_port', 'dst_port', 'protocol', 'packets', 'bytes', 'packets_src_to_dst', 'bytes_src_to_dst',
    'packets_dst_to_src', 'bytes_dst_to_src', 'start', 'end', 'action', 'direction', 'version', 'account_id', 'interface_id',
    'srcaddr', 'dstaddr', 'log_status', 'vpc_id', 'subnet_id', 'instance_id', 'tcp_flags', 'type', 'pkt_srcaddr', 'pkt_dstaddr',
    'region', 'az_id', 'sublocation_type', 'sublocation_id', 'pkt_src_aws_service', 'pkt_dst_aws_service', 'flow_direction',
    'traffic_path', 'ecs_cluster_arn', 'ecs_cluster_name', 'ecs_container_instance_arn', 'ecs_container_instance_id',
    'ecs_container_id', 'ecs_second_container_id', 'ecs_service_name', 'ecs_task_definition_arn', 'ecs_task_arn', 'ecs_task_id',
    'reject_reason', 'resource_id', 'encryption_status', 'account',
  ].map((k) => [k, null]),
);

const expectRow = (got: FlowRow | undefined, want: FlowRow): void => {
  assert.ok(got, 'row missing');
  assert.deepEqual(got, { ...AWS_NULLS, cloud: 'aws', format: 'aws-vpc-text', ...want });
  FlowRecordSchema.parse(got);
};

test('default v2 format: every field of the documented example lines', async () => {
  const { rows, stats, issues } = await parse(read('default-v2.log'));
  assert.deepEqual(issues, []);
  assert.deepEqual(stats, { records: 6, nodata: 1, skipdata: 1, errors: 0, incomplete: 0 });
  expectRow(rows[0], {
    account: '123456789010', src_addr: '172.31.16.139', dst_addr: '172.31.16.21', src_port: 20641, dst_port: 22, protocol: 6,
    packets: 20, bytes: 4249, start: '2014-12-14T04:06:50.000Z', end: '2014-12-14T04:07:50.000Z', action: 'accept',
    version: 2, account_id: '123456789010', interface_id: 'eni-1235b8ca123456789', srcaddr: '172.31.16.139', dstaddr: '172.31.16.21',
    log_status: 'OK',
  });
  assert.equal(rows[1]!.action, 'reject');
  // ICMP: ports 0 0
  expectRow(rows[2], {
    account: '123456789010', src_addr: '203.0.113.12', dst_addr: '172.31.16.139', src_port: 0, dst_port: 0, protocol: 1,
    packets: 4, bytes: 336, start: '2015-05-29T16:30:27.000Z', end: '2015-05-29T16:32:22.000Z', action: 'accept',
    version: 2, account_id: '123456789010', interface_id: 'eni-1235b8ca123456789', srcaddr: '203.0.113.12', dstaddr: '172.31.16.139',
    log_status: 'OK',
  });
  assert.equal(rows[4]!.src_addr, '2001:db8:1234:a100:8d6e:3477:df66:f105');
  // IPv6 leaves in RFC 5952 form; `unknown` account kept as logged
  expectRow(rows[5], {
    account: 'unknown', src_addr: '2001:db8::1', dst_addr: 'fe80::1', src_port: 546, dst_port: 547, protocol: 17,
    packets: 3, bytes: 412, start: '2016-10-31T11:35:08.000Z', end: '2016-10-31T11:37:00.000Z', action: 'accept',
    version: 2, account_id: 'unknown', interface_id: 'eni-0f1e2d3c4b5a69788', srcaddr: '2001:db8::1', dstaddr: 'fe80::1',
    log_status: 'OK',
  });
});

test('gzip, multi-member gzip, 1-byte chunks and small batches give the same rows as plain text', async () => {
  const plain = await parse(read('default-v2.log'));
  for (const variant of [
    await parse(read('default-v2.log.gz')),
    await parse(read('default-v2-multimember.log.gz')),
    await parse(read('default-v2.log'), { chunk: 1 }),
    await parse(read('default-v2.log.gz'), { chunk: 7 }),
  ]) {
    assert.deepEqual(variant.rows, plain.rows);
    assert.deepEqual(variant.stats, plain.stats);
  }
  const small = await parse(read('default-v2.log'), { batchCapacity: 4 });
  assert.deepEqual(small.batches.map((b) => b.length), [4, 2]);
  assert.deepEqual(small.rows, plain.rows);
  assert.deepEqual(JSON.parse(small.batches[1]!.jsonLine(1)), plain.rows[5]);
});

test('custom v5 format with CRLF lines: pkt-* addresses, flow-direction, traffic-path, v4 location fields', async () => {
  const { rows, stats, issues } = await parse(read('custom-v5.log.gz'));
  assert.deepEqual(issues, []);
  assert.equal(stats.records, 3);
  expectRow(rows[0], {
    account: '123456789012', src_addr: '10.0.1.5', dst_addr: '52.94.133.131', src_port: 44018, dst_port: 443, protocol: 6,
    packets: 12, bytes: 2170, start: '2021-05-04T15:04:21.000Z', end: '2021-05-04T15:05:21.000Z', action: 'accept', direction: 'egress',
    version: 5, vpc_id: 'vpc-0d1f0c3b2a5e4f6a7', subnet_id: 'subnet-0a9b8c7d6e5f40312', instance_id: 'i-0b1c2d3e4f5a69788',
    interface_id: 'eni-0c3a7b5e9d1f24680', account_id: '123456789012', type: 'IPv4', srcaddr: '10.0.1.5', dstaddr: '52.94.133.131',
    pkt_srcaddr: '10.0.1.77', pkt_dstaddr: '52.94.133.131', tcp_flags: 3, log_status: 'OK', region: 'us-east-1', az_id: 'use1-az1',
    pkt_dst_aws_service: 'DYNAMODB', flow_direction: 'egress', traffic_path: 8,
  });
  assert.equal(rows[1]!.direction, 'ingress');
  assert.equal(rows[1]!.traffic_path, null);
  assert.equal(rows[1]!.pkt_src_aws_service, 'DYNAMODB');
  assert.equal(rows[1]!.tcp_flags, 19);
  assert.equal(rows[2]!.instance_id, null);
  assert.equal(rows[2]!.sublocation_type, 'localzone');
  assert.equal(rows[2]!.sublocation_id, 'usw2-lax1-az1');
});

test('v7 ECS fields', async () => {
  const { rows, issues } = await parse(read('ecs-v7.log.gz'));
  assert.deepEqual(issues, []);
  assert.equal(rows.length, 2);
  const r = rows[0]!;
  assert.equal(r.version, 7);
  assert.equal(r.ecs_cluster_arn, 'arn:aws:ecs:us-east-1:123456789012:cluster/web-cluster');
  assert.equal(r.ecs_cluster_name, 'web-cluster');
  assert.equal(r.ecs_container_instance_id, '0f5f6a8b9c0d1e2f3a4b5c6d7e8f9a0b');
  assert.equal(r.ecs_second_container_id, null);
  assert.equal(r.ecs_service_name, 'web-service');
  assert.equal(r.ecs_task_definition_arn, 'arn:aws:ecs:us-east-1:123456789012:task-definition/web-task:3');
  assert.equal(r.ecs_task_id, '1a2b3c4d5e6f70819a2b3c4d5e6f7081');
  assert.equal(rows[1]!.ecs_cluster_name, null);
});

test('v8 reject-reason and later fields', async () => {
  const { rows } = await parse(read('reject-v8.log'));
  expectRow(rows[0], {
    account: '123456789012', src_addr: '198.51.100.7', dst_addr: '10.0.0.21', src_port: 51234, dst_port: 22, protocol: 6,
    packets: 1, bytes: 44, start: '2024-06-10T06:13:20.000Z', end: '2024-06-10T06:14:20.000Z', action: 'reject', direction: 'ingress',
    version: 8, account_id: '123456789012', interface_id: 'eni-0a1b2c3d4e5f60718', srcaddr: '198.51.100.7', dstaddr: '10.0.0.21',
    log_status: 'OK', flow_direction: 'ingress', reject_reason: 'BPA', resource_id: 'vpc-0d1f0c3b2a5e4f6a7', encryption_status: '0',
  });
  assert.equal(rows[1]!.reject_reason, null);
});

test('TCP-flags example: bytes before packets, and the doc double space', async () => {
  const { rows, issues } = await parse(read('tcp-flags-v3.log'));
  assert.deepEqual(issues, []);
  assert.equal(rows.length, 8);
  assert.equal(rows[5]!.bytes, 23294588);
  assert.equal(rows[5]!.packets, 15774);
  assert.equal(rows[7]!.dst_port, 43638);
  assert.equal(rows[7]!.pkt_srcaddr, '10.0.0.62');
  assert.equal(rows[7]!.tcp_flags, 19);
});

test('transit-gateway style: no counters or times, unknown columns kept as extras', async () => {
  const { rows, issues } = await parse(read('transit-gateway.log.gz'));
  assert.deepEqual(issues, []);
  expectRow(rows[0], {
    account: '123456789012', src_addr: '10.1.0.5', dst_addr: '10.2.0.9', src_port: 44344, dst_port: 443, protocol: 6,
    version: 6, account_id: '123456789012', srcaddr: '10.1.0.5', dstaddr: '10.2.0.9', log_status: 'OK',
    extra: { 'resource-type': 'TransitGateway', 'tgw-id': 'tgw-0a1b2c3d4e5f60718', 'tgw-attachment-id': 'tgw-attach-0a1b2c3d4e5f60718' },
  });
  // `-` is omitted from extras
  assert.deepEqual(rows[1]!.extra, { 'resource-type': 'TransitGateway', 'tgw-id': 'tgw-0a1b2c3d4e5f60718' });
});

test('bad lines are counted and reported with line and offset; good lines around them are kept', async () => {
  const data = read('bad-lines.log');
  const { rows, stats, issues } = await parse(data, { source: 's3://b/k.log' });
  assert.equal(rows.length, 2);
  assert.equal(rows[0]!.bytes, 4249);
  assert.equal(rows[1]!.src_addr, '172.31.9.69');
  assert.equal(stats.errors, 7);
  assert.deepEqual(issues.map((i) => [i.line, i.kind]), [3, 4, 5, 6, 7, 8, 9].map((l) => [l, 'error']));
  const text = data.toString('latin1');
  for (const i of issues) {
    assert.equal(i.source, 's3://b/k.log');
    const lineStart = text.split('\n').slice(0, i.line! - 1).join('\n').length + 1;
    assert.equal(i.offset, lineStart);
    assert.equal(Buffer.from(i.raw!).toString('latin1'), text.split('\n')[i.line! - 1]);
  }
  const msgs = issues.map((i) => i.message);
  assert.match(msgs[0]!, /expected 14 fields, found 13/);
  assert.match(msgs[1]!, /expected 14 fields, found 15/);
  assert.match(msgs[2]!, /field 7 \(dstport\) is not a non-negative integer <= 65535: "ssh"/);
  assert.match(msgs[3]!, /field 4 \(srcaddr\) is not an IP address: "172.31.16.300"/);
  assert.match(msgs[4]!, /field 5 \(dstaddr\) is not an IP address/);
  assert.match(msgs[5]!, /field 6 \(srcport\).*"70000"/);
  assert.match(msgs[6]!, /field 13 \(action\) is not ACCEPT, REJECT or -: "MAYBE"/);
});

test('invalid UTF-8 makes an error line, not a crash', async () => {
  const { rows, stats, issues } = await parse(read('invalid-utf8.log'));
  assert.equal(stats.errors, 1);
  assert.equal(issues[0]!.line, 2);
  assert.match(issues[0]!.message, /invalid UTF-8 at byte \d+/);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.srcaddr, '172.31.9.69');
});

test('a 10 MB line is skipped without being buffered, counted once, neighbours kept', async () => {
  const lines = read('default-v2.log').toString('latin1').split('\n');
  const huge = '2 123456789010 eni-' + 'x'.repeat(10 * 1024 * 1024);
  const data = Buffer.from([lines[0], lines[1], huge, lines[2], ''].join('\n'), 'latin1');
  for (const gz of [false, true]) {
    const { rows, stats, issues } = await parse(gz ? gzipSync(data) : data, { chunk: 64 * 1024 });
    assert.equal(rows.length, 2);
    assert.equal(stats.errors, 1);
    assert.equal(issues[0]!.line, 3);
    assert.equal(issues[0]!.offset, lines[0]!.length + lines[1]!.length + 2);
    assert.match(issues[0]!.message, /longer than 65536 bytes/);
    assert.ok(issues[0]!.raw!.length <= 64 * 1024);
  }
  // a long line inside one big chunk is refused the same way
  const one = await parse(data, { chunk: data.length });
  assert.equal(one.rows.length, 2);
  assert.equal(one.stats.errors, 1);
  assert.equal(one.issues[0]!.line, 3);
});

test('last line without newline is parsed; one cut short is counted as incomplete', async () => {
  const text = read('default-v2.log').toString('latin1').trimEnd();
  const whole = await parse(Buffer.from(text, 'latin1'));
  assert.equal(whole.stats.records, 6);
  assert.equal(whole.rows[5]!.bytes, 412);
  const cut = await parse(Buffer.from(text.slice(0, text.lastIndexOf(' 1477913708')), 'latin1'));
  assert.equal(cut.stats.records, 5);
  assert.equal(cut.stats.incomplete, 1);
  assert.equal(cut.stats.errors, 0);
  assert.equal(cut.issues[0]!.kind, 'incomplete');
  assert.equal(cut.issues[0]!.line, 9);
});

test('file-level failures are ParseErrors naming the source', async () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /empty file, no header/],
    ['missing header', Buffer.from(read('default-v2.log').toString('latin1').split('\n').slice(1).join('\n')), /line 1: first line is not an AWS flow-log header/],
    ['wrong header', Buffer.from('date time bucket\n1 2 3\n'), /names no known AWS flow-log field/],
    ['garbage bytes', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 255)), /first line/],
    ['truncated gzip', read('default-v2.log.gz').subarray(0, 200), /corrupt or truncated gzip/],
    ['corrupt gzip', Buffer.concat([read('default-v2.log.gz').subarray(0, 20), Buffer.alloc(300, 0xab)]), /corrupt or truncated gzip/],
  ];
  for (const [name, data, re] of cases) {
    await assert.rejects(parse(data, { source: 'bucket/key.log.gz' }), (e: unknown) => {
      assert.ok(e instanceof ParseError, `${name}: ${String(e)}`);
      assert.match(e.message, /^bucket\/key\.log\.gz/);
      assert.match(e.message, re, name);
      return true;
    });
  }
});

test('header only, and blank lines, give no records and no errors', async () => {
  const h = await parse(Buffer.from('version account-id srcaddr\n\n\r\n'));
  assert.deepEqual(h.stats, { records: 0, nodata: 0, skipdata: 0, errors: 0, incomplete: 0 });
});
