import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { FlowRecordSchema } from '@sightline/flow';
import { ROOT, rows, runCli } from '../testdata/run-cli.js';

/** `sightline enrich` end to end through the built CLI: parse output plus the k8s fields, checked field by field. */
const TD = path.join(ROOT, 'packages/attribution/src/testdata');
const td = (f: string) => path.join(TD, f);
const run = (cmd: string, args: string[]) => runCli([cmd, ...args]);
type Rec = Record<string, unknown>;
const k8s = (r: Rec, side: 'src' | 'dst') => Object.fromEntries(Object.entries(r).filter(([k]) => k.startsWith(`${side}_k8s_`)).map(([k, v]) => [k.slice(8), v]));
const NULLS = { kind: null, cluster: null, namespace: null, pod: null, node: null, workload: null, workload_kind: null, service: null, zone: null, labels: null };
const pod = (o: Rec) => ({ ...NULLS, kind: 'pod', ...o });

const EKS = ['--kube', `prod-eks=${td('eks.json')}`, '--kube', `stage-eks=${td('eks-stage.json')}`, '--scope', 'prod-eks=111122223333/vpc-0prod', '--scope', 'stage-eks=444455556666/vpc-0stage'];

test('EKS: parse records unchanged, in order, plus both ends attributed field by field; stats line', async () => {
  const [e, p] = await Promise.all([run('enrich', [...EKS, '--stats', td('eks-flows.log'), td('eks-stage-flows.log')]), run('parse', [td('eks-flows.log'), td('eks-stage-flows.log')])]);
  assert.equal(e.code, 0, e.stderr);
  const er = rows(e);
  const pr = rows(p);
  assert.equal(er.length, 12);
  er.forEach((r, i) => {
    const { ...rest } = r;
    for (const k of Object.keys(rest)) if (k.includes('_k8s_')) delete rest[k];
    assert.deepEqual(rest, pr[i], `row ${i}: parse fields unchanged`);
    FlowRecordSchema.parse(r);
  });
  const n1 = { ...NULLS, kind: 'node', cluster: 'prod-eks', node: 'ip-10-0-1-10.ec2.internal', zone: 'us-east-1a' };
  const web = pod({ cluster: 'prod-eks', namespace: 'shop', pod: 'web-7d9f8c6b5-x2x9k', node: 'ip-10-0-1-10.ec2.internal', workload: 'web', workload_kind: 'Deployment', service: 'web', zone: 'us-east-1a', labels: '{"app":"web"}' });
  const db = pod({ cluster: 'prod-eks', namespace: 'shop', pod: 'db-0', node: 'ip-10-0-2-20.ec2.internal', workload: 'db', workload_kind: 'StatefulSet', service: 'db', zone: 'us-east-1b', labels: '{"app":"db"}' });
  const report = (name: string) => pod({ cluster: 'prod-eks', namespace: 'batch', pod: name, node: 'ip-10-0-1-10.ec2.internal', workload: 'report', workload_kind: 'CronJob', zone: 'us-east-1a', labels: '{"app":"report"}' });
  const websvc = { ...NULLS, kind: 'service', cluster: 'prod-eks', namespace: 'shop', service: 'web' };
  const expected: [Rec, Rec][] = [
    [web, db], // pkt-srcaddr preferred
    [n1, db], // no pkt-*: the node's primary IP
    [report('report-28971230-k9v2m'), db], // IP reuse inside one window
    [report('report-28971234-p7x4z'), db],
    [n1, { ...NULLS, kind: 'service', cluster: 'prod-eks', namespace: 'default', service: 'kubernetes' }], // hostNetwork pod -> node; ClusterIP
    [NULLS, websvc], // LB ingress IP
    [NULLS, websvc], // external IP
    [NULLS, n1], // node ExternalIP
    [pod({ cluster: 'prod-eks', namespace: 'shop', pod: 'migrate-v42-2hq8d', node: 'ip-10-0-2-20.ec2.internal', workload: 'migrate-v42', workload_kind: 'Job', zone: 'us-east-1b', labels: '{"app":"migrate"}' }), db],
    [NULLS, db], // finished pod's IP afterwards: nobody
    [NULLS, db], // before the pod existed: nobody
    [pod({ cluster: 'stage-eks', namespace: 'stage', pod: 'api-5c7b9d8f4-q8w2e', node: 'ip-10-0-1-10.ec2.internal', workload: 'api', workload_kind: 'Deployment', zone: 'us-east-1a', labels: '{"app":"api"}' }),
      pod({ cluster: 'stage-eks', namespace: 'stage', pod: 'cache-5c7b9d8f4-zz9a1', node: 'ip-10-0-1-10.ec2.internal', workload: 'api', workload_kind: 'Deployment', zone: 'us-east-1a', labels: '{"app":"cache"}' })],
  ];
  expected.forEach(([src, dst], i) => {
    assert.deepEqual(k8s(er[i]!, 'src'), src, `row ${i} src`);
    assert.deepEqual(k8s(er[i]!, 'dst'), dst, `row ${i} dst`);
  });
  const stats = JSON.parse(e.stderr.trimEnd().split('\n').at(-1)!);
  assert.deepEqual(stats, { files: 2, records: 12, nodata: 0, skipdata: 0, errors: 0, incomplete: 0, attributed_src: 7, attributed_dst: 12 });
});

test('GKE: index answers, gke_details fallback, disagreement keeps the index, internet stays null', async () => {
  const e = await run('enrich', ['--kube', `gke-prod=${td('gke.json')}`, td('gke-flows.ndjson')]);
  assert.equal(e.code, 0, e.stderr);
  const r = rows(e);
  const fe = pod({ cluster: 'gke-prod', namespace: 'web', pod: 'frontend-6b8d7f9c4-abcde', node: 'gke-prod-pool-1-3f2a9c1e-x7k2', workload: 'frontend', workload_kind: 'Deployment', service: 'frontend', zone: 'us-east1-b', labels: '{"app":"frontend"}' });
  const redis = pod({ cluster: 'gke-prod', namespace: 'web', pod: 'redis-0', node: 'gke-prod-pool-1-3f2a9c1e-x7k2', workload: 'redis', workload_kind: 'StatefulSet', zone: 'us-east1-b', labels: '{"app":"redis"}' });
  assert.deepEqual([k8s(r[0]!, 'src'), k8s(r[0]!, 'dst')], [fe, redis]);
  assert.deepEqual(k8s(r[1]!, 'dst'), pod({ cluster: 'prod', namespace: 'jobs', pod: 'worker-7f6d5c4b3-zzzzz', workload: 'worker', workload_kind: 'Deployment' }));
  assert.deepEqual(k8s(r[2]!, 'dst'), redis);
  assert.deepEqual(k8s(r[3]!, 'dst'), NULLS);
});

test('AKS: LB ingress IP, pod, hostNetwork pod on the node; the subscription from providerID scopes the cluster', async () => {
  const e = await run('enrich', ['--stats', '--kube', `aks-prod=${td('aks.json')}`, td('aks-flows.json')]);
  assert.equal(e.code, 0, e.stderr);
  const r = rows(e);
  const cart = pod({ cluster: 'aks-prod', namespace: 'store', pod: 'cart-55d8c9b7f6-m2n3b', node: 'aks-nodepool1-12345678-vmss000000', workload: 'cart', workload_kind: 'Deployment', service: 'cart', zone: 'eastus-1', labels: '{"app":"cart"}' });
  assert.deepEqual([k8s(r[0]!, 'src'), k8s(r[0]!, 'dst')], [NULLS, { ...NULLS, kind: 'service', cluster: 'aks-prod', namespace: 'store', service: 'cart' }]);
  assert.deepEqual([k8s(r[1]!, 'src'), k8s(r[1]!, 'dst')], [cart, NULLS]);
  assert.deepEqual([k8s(r[2]!, 'src'), k8s(r[2]!, 'dst')], [{ ...NULLS, kind: 'node', cluster: 'aks-prod', node: 'aks-nodepool1-12345678-vmss000000', zone: 'eastus-1' }, cart]);
  // the same flows against the AKS cluster with another subscription: out of scope, nothing attributed
  const other = await run('enrich', ['--stats', '--kube', `aks-prod=${td('aks.json')}`, '--scope', 'aks-prod=00000000-0000-0000-0000-000000000000', td('aks-flows.json')]);
  assert.ok(rows(other).every((x) => k8s(x, 'src').kind === null && k8s(x, 'dst').kind === null));
  assert.match(other.stderr, /"attributed_src":0,"attributed_dst":0/);
});

test('usage errors exit 2 and say what is wrong; a bad dump names the file', async () => {
  const none = await run('enrich', [td('eks-flows.log')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--kube NAME=FILE is required/);
  const bad = await run('enrich', ['--kube', `x=${td('eks-flows.log')}`, td('eks-flows.log')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--kube x=.*eks-flows\.log: not JSON/);
});
