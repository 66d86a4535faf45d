import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromKubectlList, type KubeNode } from '@sightline/kube-model';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizePlacement } from './placement.js';

const TD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');

test('placement: nodes of an EKS, a GKE and an AKS pool grouped by cloud, account, region and zone', () => {
  const { objects } = fromKubectlList(JSON.parse(readFileSync(path.join(TD, 'nodes.json'), 'utf8')), { source: 'nodes.json' });
  const nodes = objects.filter((o): o is KubeNode => o.kind === 'Node');
  assert.deepEqual(summarizePlacement(nodes), [
    { cloud: 'aws', account: '', region: 'us-east-1', zone: 'us-east-1a', nodes: 2 },
    { cloud: 'azure', account: '8d1e3f4a-0000-4b5c-9d6e-7f8a9b0c1d2e', region: 'westeurope', zone: 'westeurope-1', nodes: 1 },
    { cloud: 'gcp', account: 'shop-prod-1234', region: 'europe-west1', zone: 'europe-west1-b', nodes: 1 },
    { cloud: 'none', account: '', region: '', zone: '', nodes: 1 },
  ]);
});
