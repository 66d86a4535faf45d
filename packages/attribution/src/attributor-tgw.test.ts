import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { colIndex, FlowBatch } from '@sightline/flow';
import { fromKubectlList } from '@sightline/kube-model';
import { newStats, parseObject } from '@sightline/parsers';
import { Attributor } from './attributor.js';

/**
 * Transit Gateway flow logs attributed on the parsers' real-format sample: one record names two
 * VPCs in two accounts, and each side is looked up in the clusters of its own VPC and account.
 */

const parsersRoot = dirname(dirname(createRequire(import.meta.url).resolve('@sightline/parsers')));
const SAMPLE = join(parsersRoot, 'src/formats/aws-tgw/testdata/default-v6.log');

const VPC_A = 'vpc-0aa1bb2cc3dd4ee5f';
const VPC_B = 'vpc-0bb2cc3dd4ee5ff60';
const VPC_C = 'vpc-0cc3dd4ee5ff60718';

/** A kubectl list of one node and one Deployment pod per address, running since before the sample's hour. */
function cluster(node: string, pods: [name: string, ip: string][]) {
  const since = '2025-12-02T05:00:00Z';
  const items = [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: node, uid: `${node}-uid`, resourceVersion: '1', creationTimestamp: since, labels: { 'topology.kubernetes.io/zone': 'us-east-1a' } },
      status: { addresses: [{ type: 'InternalIP', address: '10.250.0.1' }], conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: since }] } },
    ...pods.map(([name, ip]) => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: 'shop', uid: `${name}-uid`, resourceVersion: '2', creationTimestamp: since, labels: { app: name } },
      spec: { nodeName: node, containers: [{ name: 'main', image: 'app:1' }] },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: since, containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'app:1', state: { running: { startedAt: since } } }] },
    })),
  ];
  return fromKubectlList({ apiVersion: 'v1', kind: 'List', items }, { source: node, labelAllowList: ['app'] }).objects;
}

async function sampleBatch(): Promise<FlowBatch> {
  const bytes = readFileSync(SAMPLE);
  const out: FlowBatch[] = [];
  for await (const b of parseObject({ name: SAMPLE, open: () => (async function* () { yield bytes; })() }, { source: SAMPLE, stats: newStats(), onIssue: () => undefined })) out.push(b);
  assert.equal(out.length, 1);
  return out[0]!;
}

const pod = (b: FlowBatch, r: number, side: 'src' | 'dst') => b.get(r, colIndex(`${side}_k8s_pod`));

test('Transit Gateway: each side in its own VPC and account; the same pod CIDR in a third VPC takes nothing; an on-premises side over VPN stays unattributed', async () => {
  const a = new Attributor();
  // cluster A (account 1111..., VPC A) has 10.1.0.5 and 10.1.0.7; cluster B (account 4444..., VPC B) has 10.2.0.9
  a.addCluster('a', { cloud: 'aws', accounts: ['111122223333'], networks: [VPC_A] }).load(cluster('node-a', [['api', '10.1.0.5'], ['worker', '10.1.0.7']]));
  a.addCluster('b', { cloud: 'aws', accounts: ['444455556666'], networks: [VPC_B] }).load(cluster('node-b', [['db', '10.2.0.9']]));
  // cluster C reuses B's pod address in another VPC of B's account, and holds the on-premises address too
  a.addCluster('c', { cloud: 'aws', accounts: ['444455556666'], networks: [VPC_C] }).load(cluster('node-c', [['other', '10.2.0.9'], ['onprem-lookalike', '192.168.10.20']]));
  const b = await sampleBatch();
  const st = a.attributeBatch(b);
  // rows 0-1: api (VPC A) -> db (VPC B), recorded at both attachments
  for (const r of [0, 1]) assert.deepEqual([pod(b, r, 'src'), pod(b, r, 'dst')], ['api', 'db'], `row ${r}`);
  // row 2: the reply db -> api
  assert.deepEqual([pod(b, 2, 'src'), pod(b, 2, 'dst')], ['db', 'api']);
  // row 3: from on premises over the VPN attachment into VPC A: the source is scoped by its attachment, matching no cluster
  assert.deepEqual([pod(b, 3, 'src'), pod(b, 3, 'dst')], [null, 'api']);
  // row 5: worker to an AWS service address
  assert.deepEqual([pod(b, 5, 'src'), pod(b, 5, 'dst')], ['worker', null]);
  assert.equal(st.ambiguous, 0, 'C never competes with B: another VPC');
});
