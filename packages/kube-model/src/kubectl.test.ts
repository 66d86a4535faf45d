import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromKubectlList, KubectlDumpError } from './kubectl.js';
import { podInterval, objectInterval } from './intervals.js';
import type { Pod, KubeNode, Service, EndpointSlice, Owner } from './objects.js';

// the EKS dump is kept once, with the other cluster dumps in attribution (its generator writes it there)
const TD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../attribution/src/testdata');
const eks = () => fromKubectlList(JSON.parse(fs.readFileSync(path.join(TD, 'eks.json'), 'utf8')), { source: 'eks.json', labelAllowList: ['app'] });
const T = (iso: string) => Date.parse(iso);

test('converts a kubectl List dump: every kind, labels allow-listed, owners kept', () => {
  const { objects } = eks();
  const by = <K extends string>(kind: K) => objects.filter((o) => o.kind === kind);
  assert.equal(by('Node').length, 2);
  assert.equal(by('Pod').length, 6);
  assert.equal(by('Service').length, 3);
  assert.equal(by('EndpointSlice').length, 2);
  const web = by('Pod').find((p) => p.name === 'web-7d9f8c6b5-x2x9k') as Pod;
  assert.deepEqual(
    { ns: web.namespace, node: web.node, ips: web.podIPs, phase: web.phase, labels: web.labels, owner: web.ownerReferences.map((o) => `${o.kind}/${o.name}`), start: web.startTime },
    { ns: 'shop', node: 'ip-10-0-1-10.ec2.internal', ips: ['10.0.1.77'], phase: 'Running', labels: { app: 'web' }, owner: ['ReplicaSet/web-7d9f8c6b5'], start: '2025-03-10T08:00:02Z' },
  );
  const n1 = by('Node').find((n) => n.name === 'ip-10-0-1-10.ec2.internal') as KubeNode;
  assert.deepEqual(n1.addresses, [{ type: 'InternalIP', address: '10.0.1.10' }, { type: 'ExternalIP', address: '54.210.1.10' }]);
  assert.equal(n1.zone, 'us-east-1a');
  assert.equal(n1.providerID, 'aws:///us-east-1a/i-0a1b2c3d4e5f60001');
  const web_svc = by('Service').find((s) => s.name === 'web') as Service;
  assert.deepEqual([web_svc.type, web_svc.clusterIPs, web_svc.externalIPs, web_svc.loadBalancerIPs], ['LoadBalancer', ['172.20.10.10'], ['198.51.100.7'], ['203.0.113.50']]);
  assert.deepEqual((by('Service').find((s) => s.name === 'db') as Service).clusterIPs, [], 'headless: no address');
  const slice = by('EndpointSlice').find((s) => (s as EndpointSlice).service === 'web') as EndpointSlice;
  assert.deepEqual(slice.endpoints, [{ addresses: ['10.0.1.77'], podUid: web.uid }]);
  const job = objects.find((o) => o.kind === 'Job' && o.name === 'report-28971230') as Owner;
  assert.deepEqual(job.ownerReferences.map((o) => `${o.kind}/${o.name}`), ['CronJob/report']);
});

test('lease intervals: running pods open, finished pods end at the last container finish, hostNetwork pods hold none', () => {
  const pods = eks().objects.filter((o): o is Pod => o.kind === 'Pod');
  const p = (name: string) => pods.find((x) => x.name.startsWith(name))!;
  assert.deepEqual(podInterval(p('web-')), { start: T('2025-03-10T08:00:02Z'), end: Infinity });
  assert.deepEqual(podInterval(p('report-28971230')), { start: T('2025-03-10T11:58:01Z'), end: T('2025-03-10T12:03:00Z') });
  assert.equal(podInterval(p('aws-node')), null);
  // a deletion timestamp ends the lease; a finished pod without finish time gets an empty one
  assert.deepEqual(podInterval({ ...p('web-'), deletedAt: '2025-03-10T13:00:00Z' }), { start: T('2025-03-10T08:00:02Z'), end: T('2025-03-10T13:00:00Z') });
  const unknownEnd = podInterval({ ...p('web-'), phase: 'Failed', finishedAt: null })!;
  assert.equal(unknownEnd.end, unknownEnd.start);
  const node = eks().objects.find((o): o is KubeNode => o.kind === 'Node')!;
  assert.deepEqual(objectInterval(node), { start: T('2025-03-01T06:00:00Z'), end: Infinity });
});

test('bad dumps name the file, the item and the field', () => {
  assert.throws(() => fromKubectlList({ kind: 'PodList', items: [] }, { source: 'x.json' }), /x\.json: expected a kubectl List/);
  const bad = { kind: 'List', items: [{ kind: 'Pod', metadata: { name: 'p', namespace: 'n', uid: 'u1', creationTimestamp: '2025-03-10T00:00:00Z' }, status: { phase: 'Exploded' } }] };
  assert.throws(() => fromKubectlList(bad, { source: 'y.json' }), (e: Error) => e instanceof KubectlDumpError && /y\.json items\[0\] \(Pod n\/p\): phase/.test(e.message));
  const noUid = { kind: 'List', items: [{ kind: 'Node', metadata: { name: 'n1', creationTimestamp: '2025-03-10T00:00:00Z' } }] };
  assert.throws(() => fromKubectlList(noUid, { source: 'z.json' }), /z\.json items\[0\]: metadata\.uid/);
});

test('kinds attribution does not use are counted, not converted', () => {
  const d = fromKubectlList({ kind: 'List', items: [{ kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n', uid: 'u', creationTimestamp: '2025-03-10T00:00:00Z' } }] }, { source: 's' });
  assert.deepEqual([d.objects.length, d.skipped], [0, { ConfigMap: 1 }]);
});
