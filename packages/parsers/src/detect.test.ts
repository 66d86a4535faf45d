import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFormat } from './detect.js';

const b = (s: string) => Buffer.from(s);

test('AWS text is recognised by its header line, default or custom', () => {
  assert.equal(detectFormat(b('version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 123')), 'aws-vpc-text');
  assert.equal(detectFormat(b('pkt-srcaddr pkt-dstaddr flow-direction traffic-path\n10.0.0.1 10.0.0.2 egress 1\n')), 'aws-vpc-text');
});

test('a data line without header is not taken for AWS', () => {
  assert.equal(detectFormat(b('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n')), null);
});

test('Parquet is recognised by its magic', () => {
  assert.equal(detectFormat(Buffer.concat([b('PAR1'), Buffer.alloc(10)])), 'aws-vpc-parquet');
});

test('GCP LogEntry lines are recognised', () => {
  assert.equal(detectFormat(b('{"insertId":"x","jsonPayload":{"connection":{"src_ip":"10.0.0.1"}},"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows"}\n')), 'gcp-vpc-json');
});

test('Azure NSG and VNet are told apart by content, and by name when only the opening block is there', () => {
  assert.equal(detectFormat(b('{"records":[{"time":"2018-11-13T12:00:35.3899262Z","systemId":"a","category":"NetworkSecurityGroupFlowEvent"')), 'azure-nsg');
  assert.equal(detectFormat(b('{"records":[{"time":"2022-09-14T09:00:52.5625085Z","flowLogVersion":4,"flowLogGUID":"x"')), 'azure-vnet');
  assert.equal(detectFormat(b('{"records":['), 'insights-logs-flowlogflowevent/flowLogResourceID=/X/PT1H.json'), 'azure-vnet');
  assert.equal(detectFormat(b('{"records":['), 'insights-logs-networksecuritygroupflowevent/resourceId=/X/PT1H.json'), 'azure-nsg');
});

test('garbage and empty input are not a format', () => {
  assert.equal(detectFormat(b('')), null);
  assert.equal(detectFormat(Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37])), null);
  assert.equal(detectFormat(b('hello world\nthis is not a flow log\n')), null);
  assert.equal(detectFormat(b('{"foo": 1}\n')), null);
});
