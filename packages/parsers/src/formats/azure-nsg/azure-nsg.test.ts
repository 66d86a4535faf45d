import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FlowRecordSchema, type FlowRow } from '@sightline/flow';
import { NsgRecordSchema, parseAzureNsg } from './azure-nsg.js';
import { parseResourceId } from '../azure-shared/azure-common.js';
import { newStats, ParseError, type ParseContext, type ParseIssue } from '../../types.js';

const dir = new URL('../../testdata/azure/', import.meta.url);
const file = (name: string) => readFileSync(new URL(name, dir));

async function run(buf: Uint8Array, chunk = 65536) {
  const issues: ParseIssue[] = [];
  const ctx: ParseContext = { source: 'insights-logs-networksecuritygroupflowevent/PT1H.json', stats: newStats(), onIssue: (i) => issues.push(i) };
  const rows: FlowRow[] = [];
  async function* src() {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  }
  for await (const b of parseAzureNsg(src(), ctx)) for (let i = 0; i < b.length; i++) rows.push(b.row(i));
  return { rows, issues, stats: ctx.stats };
}

const FAB = '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/FABRIAKMVM1-NSG';
const base = {
  cloud: 'azure', account: '00000000-0000-0000-0000-000000000000', subscription_id: '00000000-0000-0000-0000-000000000000',
  resource_group: 'FABRIKAMRG', resource_id: FAB, flow_log_resource_id: null, flow_log_guid: null,
  category: 'NetworkSecurityGroupFlowEvent', acl_id: null, encryption: null,
};

test('resource ids: subscription lower case, group as written', () => {
  assert.deepEqual(parseResourceId(FAB), { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'FABRIKAMRG' });
  assert.deepEqual(parseResourceId('/subscriptions/AB-CD/resourceGroups/rg1/providers/x'), { subscriptionId: 'ab-cd', resourceGroup: 'rg1' });
  assert.deepEqual(parseResourceId(null), { subscriptionId: null, resourceGroup: null });
});

test("Microsoft's malformed v1 sample: every record is read, the nesting and the trailing ... are reported", async () => {
  const { rows, issues, stats } = await run(file('nsg-v1-doc-sample.json'));
  assert.equal(rows.length, 21);
  assert.deepEqual(stats, { records: 21, nodata: 0, skipdata: 0, errors: 2, incomplete: 1 });
  assert.deepEqual(issues.map((i) => i.kind), ['error', 'error', 'incomplete']);
  assert.match(issues[0]!.message, /second "records" array/);
  assert.deepEqual(rows[0], {
    ...base, format: 'azure-nsg-v1', src_addr: '42.119.146.95', dst_addr: '10.1.0.4', src_port: 51529, dst_port: 5358, protocol: 6,
    packets: null, bytes: null, packets_src_to_dst: null, bytes_src_to_dst: null, packets_dst_to_src: null, bytes_dst_to_src: null,
    start: '2017-02-16T22:00:21.000Z', end: '2017-02-16T22:00:21.000Z', action: 'reject', direction: 'ingress',
    system_id: '2c002c16-72f3-4dc5-b391-3444c3527434', flow_log_version: 1, record_time: '2017-02-16T22:00:32.895Z',
    rule: 'DefaultRule_DenyAllInBound', mac: '000D3AF8801A', flow_state: null,
  });
  // record, rule, MAC, tuple order; UDP maps to 17
  assert.deepEqual(rows.slice(0, 6).map((r) => [r.rule, r.src_addr, r.action]), [
    ['DefaultRule_DenyAllInBound', '42.119.146.95', 'reject'],
    ['UserRule_default-allow-rdp', '163.28.66.17', 'accept'],
    ['UserRule_default-allow-rdp', '5.39.218.34', 'accept'],
    ['UserRule_default-allow-rdp', '91.224.160.154', 'accept'],
    ['UserRule_default-allow-rdp', '13.76.89.229', 'accept'],
    ['DefaultRule_DenyAllInBound', '195.78.210.194', 'reject'],
  ]);
  assert.equal(rows[5]!.protocol, 17);
  for (const r of rows) FlowRecordSchema.parse(r);
});

test('own v1 blob: empty rule flows, egress, lower-cased subscription', async () => {
  const { rows, issues } = await run(file('nsg-v1.json'));
  assert.deepEqual(issues, []);
  assert.deepEqual(rows.map((r) => [r.rule, r.direction, r.protocol, r.dst_port]), [
    ['UserRule_allow-https', 'ingress', 6, 443], ['UserRule_allow-https', 'ingress', 6, 443],
    ['DefaultRule_AllowInternetOutBound', 'egress', 6, 443], ['DefaultRule_AllowInternetOutBound', 'egress', 17, 53],
  ]);
  assert.equal(rows[0]!.account, '3f2a9c1e-5b7d-4e21-9a0c-6d8e1f2b3c4d');
  assert.equal(rows[0]!.resource_group, 'MC_SHOP-RG_SHOP-AKS_WESTEUROPE');
  assert.equal(rows[0]!.record_time, '2024-03-05T10:01:12.123457Z');
});

test('v2: B tuples have null counters, C/E tuples add both directions, IPv6 is normalized', async () => {
  const { rows, issues } = await run(file('nsg-v2.json'), 100);
  assert.deepEqual(issues, []);
  assert.equal(rows.length, 13);
  assert.deepEqual(rows[5], {
    ...base, format: 'azure-nsg-v2', src_addr: '10.5.16.4', dst_addr: '13.67.143.115', src_port: 44931, dst_port: 443, protocol: 6,
    packets: 54, bytes: 30986, packets_src_to_dst: 30, bytes_src_to_dst: 16978, packets_dst_to_src: 24, bytes_dst_to_src: 14008,
    start: '2018-11-13T11:59:39.000Z', end: '2018-11-13T11:59:39.000Z', action: 'accept', direction: 'egress',
    system_id: 'a0fca5ce-022c-47b1-9735-89943b42f2fa', flow_log_version: 2, record_time: '2018-11-13T12:00:35.389926Z',
    rule: 'DefaultRule_AllowInternetOutBound', mac: '000D3AF87856', flow_state: 'C',
  });
  assert.deepEqual([rows[0]!.flow_state, rows[0]!.packets, rows[0]!.bytes, rows[0]!.packets_src_to_dst, rows[0]!.protocol], ['B', null, null, null, 17]);
  assert.deepEqual([rows[11]!.src_addr, rows[11]!.dst_addr, rows[11]!.packets, rows[11]!.bytes], ['fd00::a:21', 'fd00::a:4', 4, 528]);
  assert.deepEqual([rows[12]!.src_addr, rows[12]!.direction], ['2603:1020:203::12', 'ingress']);
  for (const r of rows) FlowRecordSchema.parse(r);
});

test('the sample records satisfy the documented zod contract', () => {
  const doc = JSON.parse(file('nsg-v2.json').toString('utf8')) as { records: unknown[] };
  for (const r of doc.records) NsgRecordSchema.parse(r);
});

test('bad records and tuples are counted with their byte offset; parsing goes on', async () => {
  const good = '{"time":"2024-03-05T10:00:00Z","systemId":"s","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/AB/RESOURCEGROUPS/RG/x","properties":{"Version":2,"flows":[{"rule":"r","flows":[{"mac":"M","flowTuples":["1709632800,10.0.0.1,10.0.0.2,1,2,T,I,A,B,,,,"]}]}]}}';
  const badTuples = good.replace('"1709632800,10.0.0.1,10.0.0.2,1,2,T,I,A,B,,,,"', '"1709632800,10.0.0.1,10.0.0.300,1,2,T,I,A,B,,,,","x,10.0.0.1,10.0.0.2,1,2,T,I,A","1,10.0.0.1,10.0.0.2,1,2,Q,I,A","1,10.0.0.1,10.0.0.2,1,99999,T,I,A","1,10.0.0.1,10.0.0.2,1,2,T,I,A,B,x,,,",7,"1,10.0.0.1,10.0.0.2,1,2,T,I,A,Z,,,,","1,10.0.0.1,10.0.0.2,1,2,T,I,A,E,1,2,3,4,5","1709632801,10.0.0.1,10.0.0.2,1,2,T,O,A"');
  const wrongType = good.replace('"Version":2', '"Version":"2"');
  const parts = [
    Buffer.from(`{"records":[${good},`),
    Buffer.from(badTuples + ',' + wrongType + ',{"time": 5, "resourceId": "x"},{"time":"a\xff"},'),
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x2c]),
    Buffer.from('{"time": tru},' + good + ']}'),
  ];
  const input = Buffer.concat(parts);
  const { rows, issues, stats } = await run(input, 50);
  // the 8-field tuple inside a Version 2 record is read as v1: field count decides
  assert.deepEqual(rows.map((r) => [r.end, r.format]), [['2024-03-05T10:00:00.000Z', 'azure-nsg-v2'], ['2024-03-05T10:00:01.000Z', 'azure-nsg-v1'], ['2024-03-05T10:00:00.000Z', 'azure-nsg-v2']]);
  assert.equal(stats.errors, 13);
  const msgs = issues.map((i) => i.message);
  for (const re of [/tuple 0: invalid destination address/, /tuple 1: timestamp is not a number/, /tuple 2: protocol must be T or U/, /tuple 3: invalid port/,
    /tuple 4: counters must be empty or unsigned integers/, /tuple 5: tuple is not a string/, /tuple 6: flow state must be B, C or E/,
    /tuple 7: expected 8 \(v1\) or 13 \(v2\) fields, found more than 13/, /properties\.Version: /, /^NSG record at byte \d+: (time|resourceId|properties)/,
    /not valid UTF-8/, /not valid JSON/])
    assert.ok(msgs.some((m) => re.test(m)), `${re} in ${msgs.join('\n')}`);
  const utf8 = issues.find((i) => /not valid UTF-8/.test(i.message))!;
  assert.equal(utf8.offset, parts[0]!.length + parts[1]!.length);
  const recAt = (s: string) => input.indexOf(s);
  assert.equal(issues[0]!.offset, recAt(badTuples));
});

test('a VNet blob or an empty one is refused', async () => {
  await assert.rejects(run(Buffer.alloc(0)), ParseError);
  const { rows, stats, issues } = await run(file('vnet.json'));
  assert.equal(rows.length, 0);
  assert.equal(stats.errors, 3);
  assert.match(issues[0]!.message, /azure-vnet parser/);
});
