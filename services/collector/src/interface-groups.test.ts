import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FlowBatch } from '@sightline/flow';
import { newStats, parseObject } from '@sightline/parsers';
import { groupOf, interfaceKeys, splitByInterface } from './interface-groups.js';

// the parsers' samples (the package's testdata, next to its dist)
const parsersRoot = dirname(dirname(createRequire(import.meta.url).resolve('@sightline/parsers')));
const sample = (p: string) => readFileSync(join(parsersRoot, 'src', p));

async function parse(name: string, bytes: Buffer): Promise<FlowBatch> {
  const batches: FlowBatch[] = [];
  for await (const b of parseObject({ name, open: () => (async function* () { yield bytes; })() }, { source: name, stats: newStats(), onIssue: () => undefined })) batches.push(b);
  assert.equal(batches.length, 1);
  return batches[0]!;
}

test('groupOf is FNV-1a and never moves: the groups of these keys as the first release computed them', () => {
  const pinned: [string, number, number][] = [
    ['eni-0a1b2c3d4e5f60718', 62, 2], ['tgw-attach-0a1b2c3d4e5f60718', 46, 5], ['00-0D-3A-1B-2C-3D', 21, 3], ['gke-node-1', 7, 0],
    ['acme/aws/123456789012/us-east-1/b/p#default', 43, 4], ['', 5, 2], ['é名', 43, 2],
  ];
  for (const [k, g64, g7] of pinned) assert.deepEqual([groupOf(k, 64), groupOf(k, 7)], [g64, g7], k);
});

test('each format keys its rows by what it reports per, as its spec in the registry says', async () => {
  const vpc = await parse('k.log', sample('testdata/aws/default-v2.log'));
  assert.ok(interfaceKeys(vpc).every((k) => k.startsWith('eni-')), 'AWS VPC: the ENI');
  const tgw = await parse('k.log', sample('formats/aws-tgw/testdata/default-v6.log'));
  assert.deepEqual(interfaceKeys(tgw), [
    'tgw-attach-0a1b2c3d4e5f60718', 'tgw-attach-0b2c3d4e5f6071829', 'tgw-attach-0b2c3d4e5f6071829',
    'tgw-attach-0c3d4e5f607182930', 'tgw-attach-0a1b2c3d4e5f60718', 'tgw-attach-0a1b2c3d4e5f60718',
  ], 'Transit Gateway: the attachment that recorded the flow');
  const nsg = await parse('PT1H.json', sample('testdata/azure/nsg-v2.json'));
  assert.ok(interfaceKeys(nsg).every((k) => /^[0-9A-F]{12}$|^([0-9A-F]{2}-){5}[0-9A-F]{2}$/i.test(k)), 'Azure: the NIC MAC');
  const gcp = await parse('x.json', sample('testdata/gcp/vpc_flows.ndjson'));
  assert.deepEqual(interfaceKeys(gcp), [
    'kibana', 'kibana', 'gke-shop-prod-default-pool-1a2b3c4d-x7k2', 'gke-shop-prod-default-pool-5e6f7a8b-q9m4',
    'gke-shop-prod-default-pool-1a2b3c4d-x7k2', 'bastion', '192.168.40.12', 'gke-shop-prod-default-pool-1a2b3c4d-x7k2',
  ], 'GCP: the reporting VM, else the subnetwork, else (a gateway with neither) the source address');
});

test('a Transit Gateway batch splits by attachment: every attachment in exactly one group, order kept', async () => {
  const tgw = await parse('k.log', sample('formats/aws-tgw/testdata/default-v6.log'));
  const parts = splitByInterface(tgw, 64);
  const byAttachment = new Map<string, number>();
  for (const { group, batch } of parts) {
    for (const k of interfaceKeys(batch)) {
      assert.equal(byAttachment.get(k) ?? group, group, k);
      byAttachment.set(k, group);
    }
  }
  assert.equal(byAttachment.size, 3);
  assert.equal(parts.reduce((n, p) => n + p.batch.length, 0), tgw.length);
});
