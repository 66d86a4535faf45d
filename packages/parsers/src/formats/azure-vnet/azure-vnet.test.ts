import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FlowRecordSchema, type FlowRow } from '@sightline/flow';
import { createAzureVnetParser, parseAzureVnet, VnetRecordSchema } from './azure-vnet.js';
import { newStats, type ParseContext, type ParseIssue, type StreamParser } from '../../types.js';

const dir = new URL('../../testdata/azure/', import.meta.url);
const file = (name: string) => readFileSync(new URL(name, dir));

async function run(buf: Uint8Array, chunk = 65536, parser: StreamParser = parseAzureVnet) {
  const issues: ParseIssue[] = [];
  const ctx: ParseContext = { source: 'insights-logs-flowlogflowevent/PT1H.json', stats: newStats(), onIssue: (i) => issues.push(i) };
  const rows: FlowRow[] = [];
  async function* src() {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  }
  for await (const b of parser(src(), ctx)) for (let i = 0; i < b.length; i++) rows.push(b.row(i));
  return { rows, issues, stats: ctx.stats };
}

const SUB = 'aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e';
const FLID = '/SUBSCRIPTIONS/AAAA0A0A-BB1B-CC2C-DD3D-EEEEEE4E4E4E/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS2EUAP/FLOWLOGS/VNETFLOWLOG';
const TGT = `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Network/virtualNetworks/myVNet`;

test('VNet blob: every field of a sample E tuple and of an own C tuple', async () => {
  const { rows, issues, stats } = await run(file('vnet.json'));
  assert.deepEqual(issues, []);
  assert.equal(stats.records, 27);
  const common = {
    cloud: 'azure', format: 'azure-vnet', account: SUB, subscription_id: SUB, resource_group: 'myResourceGroup', resource_id: TGT,
    flow_log_resource_id: FLID, system_id: null, category: 'FlowLogFlowEvent', flow_log_version: 4,
  };
  assert.deepEqual(rows[1], {
    ...common, src_addr: '10.0.0.6', dst_addr: '192.0.2.180', src_port: 23956, dst_port: 443, protocol: 6,
    packets: 5, bytes: 2347, packets_src_to_dst: 3, bytes_src_to_dst: 767, packets_dst_to_src: 2, bytes_dst_to_src: 1580,
    start: '2022-09-14T09:00:03.606Z', end: '2022-09-14T09:00:03.606Z', action: 'accept', direction: 'egress',
    flow_log_guid: '66aa66aa-bb77-cc88-dd99-00ee00ee00ee', record_time: '2022-09-14T09:00:52.562509Z',
    acl_id: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee', rule: 'DefaultRule_AllowInternetOutBound', mac: '112233445566', flow_state: 'E', encryption: 'NX',
  });
  assert.deepEqual(rows[15], {
    ...common, src_addr: '10.224.0.33', dst_addr: '10.224.1.17', src_port: 41822, dst_port: 7070, protocol: 6,
    packets: 238, bytes: 439257, packets_src_to_dst: 120, bytes_src_to_dst: 48213, packets_dst_to_src: 118, bytes_dst_to_src: 391044,
    start: '2024-03-05T10:05:01.000Z', end: '2024-03-05T10:05:01.000Z', action: 'accept', direction: 'egress',
    flow_log_guid: '7c7c7c7c-1111-2222-3333-444455556666', record_time: '2024-03-05T10:05:01.000Z',
    acl_id: '5d2f1e0c-7a6b-4c3d-9e8f-0a1b2c3d4e5f', rule: 'UserRule_allow-frontend-to-cart', mac: '6045BDA1B2C3', flow_state: 'C', encryption: 'X',
  });
  for (const r of rows) FlowRecordSchema.parse(r);
});

test('states, deny, encryption values, empty counters, seconds timestamps and IPv6', async () => {
  const { rows } = await run(file('vnet.json'), 64);
  const pick = (r: FlowRow) => [r.flow_state, r.action, r.encryption, r.packets, r.bytes, r.start];
  assert.deepEqual(pick(rows[0]!), ['B', 'accept', 'NX', 0, 0, '2022-09-14T09:00:03.599Z']);
  assert.deepEqual([rows[10]!.flow_state, rows[10]!.action, rows[10]!.direction, rows[10]!.rule], ['D', 'reject', 'ingress', 'BlockHighRiskTCPPortsFromInternet']);
  assert.deepEqual(pick(rows[14]!), ['B', 'accept', 'X', null, null, '2024-03-05T10:04:01.000Z']);
  assert.deepEqual(rows.slice(17, 23).map((r) => r.encryption), ['NX_LOCAL_DST', 'NX_HW_NOT_SUPPORTED', 'NX_SW_NOT_READY', 'NX_NOT_ACCEPTED', 'NX_NOT_SUPPORTED', 'NX_FALLBACK']);
  assert.deepEqual([rows[17]!.protocol, rows[17]!.start], [17, '2024-03-05T10:04:02.000Z']);
  assert.deepEqual([rows[18]!.src_addr, rows[18]!.dst_addr], ['fd12:3456:789a::21', 'fd12:3456:789a::1:4']);
  assert.deepEqual(rows.slice(23, 25).map((r) => [r.acl_id, r.rule, r.flow_state, r.action, r.packets]), [['unspecified', 'unspecified', 'D', 'reject', 0], ['unspecified', 'unspecified', 'D', 'reject', null]]);
  assert.deepEqual(rows.slice(25).map((r) => r.record_time), ['2024-03-05T10:06:01.500Z', '2024-03-05T10:06:01.500Z']);
});

test('a blob prefix without ]} whose last block is half written: complete records kept, tail incomplete', async () => {
  const full = await run(file('vnet.json'));
  for (const chunk of [7, 100, 65536]) {
    const { rows, issues, stats } = await run(file('vnet-prefix.json'), chunk);
    assert.deepEqual(rows, full.rows.slice(0, 25));
    assert.deepEqual(stats, { records: 25, nodata: 0, skipdata: 0, errors: 0, incomplete: 1 });
    assert.equal(issues[0]!.kind, 'incomplete');
    assert.equal(issues[0]!.offset, file('vnet-prefix.json').lastIndexOf('{"time"'));
  }
});

test('sample records satisfy the documented zod contract; wrong types name the zod path', async () => {
  const doc = JSON.parse(file('vnet.json').toString('utf8')) as { records: unknown[] };
  for (const r of doc.records) VnetRecordSchema.parse(r);
  const bad = '{"records":[{"time":"2024-03-05T10:00:00Z","flowRecords":{"flows":[{"aclID":"a","flowGroups":[{"rule":"r","flowTuples":"1,2"}]}]}},' +
    '{"time":"2024-03-05T10:00:00Z","macAddress":"M","flowRecords":{"flows":[{"aclID":"a","flowGroups":[{"rule":"r","flowTuples":["1709632800,10.0.0.1,10.0.0.2,1,2,6,I,X,NX,,,,","1709632800,10.0.0.1,2001:db8::g,1,2,6,I,B,NX,,,,","1709632800,10.0.0.1,10.0.0.2,1,2,300,I,B,NX,,,,","1709632800,10.0.0.1,10.0.0.2,1,2,6,I,B,NX,,,","1709632800,10.0.0.1,10.0.0.2,1,2,6,I,B,,,,,","1709632800,10.0.0.1,10.0.0.2,1,2,6,I,B,NX,,,,"]}]}]}}]}';
  const { rows, issues } = await run(Buffer.from(bad));
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.account, null);
  assert.deepEqual(issues.map((i) => i.message.replace(/^.*?: (?=[a-z])/, '').slice(0, 28)), [
    'flowRecords.flows.0.flowGrou', 'flow state must be B, C, E o', 'invalid destination address:',
    'protocol must be an IANA num', 'expected 13 fields, found 12', 'encryption is empty: "170963',
  ]);
  assert.equal(issues[0]!.offset, 12);
});

test('a 10 MB record works within the default limit and fails cleanly above a lower one', async () => {
  const rec = JSON.parse(file('vnet.json').toString('utf8')).records[0] as { flowRecords: { flows: { flowGroups: { flowTuples: string[] }[] }[] } };
  const tuple = rec.flowRecords.flows[0]!.flowGroups[0]!.flowTuples[1]!;
  rec.flowRecords.flows[0]!.flowGroups[0]!.flowTuples = new Array<string>(Math.ceil((10 * 1024 * 1024) / (tuple.length + 3))).fill(tuple);
  const body = JSON.stringify(rec);
  assert.ok(body.length > 10 * 1024 * 1024);
  const input = Buffer.from(`{"records":[${body},${JSON.stringify(JSON.parse(file('vnet.json').toString('utf8')).records[2])}]}`);
  const n = rec.flowRecords.flows[0]!.flowGroups[0]!.flowTuples.length;
  const ok = await run(input);
  assert.equal(ok.rows.length, n + 4 + 2);
  const capped = await run(input, 65536, createAzureVnetParser({ maxRecordBytes: 1024 * 1024 }));
  assert.equal(capped.rows.length, 2);
  assert.equal(capped.stats.errors, 1);
  assert.match(capped.issues[0]!.message, /exceeds the 1048576-byte limit/);
  assert.ok(capped.issues[0]!.raw!.length <= 64 * 1024);
});
