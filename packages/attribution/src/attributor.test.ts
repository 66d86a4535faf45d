import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { colIndex, FIELD_BY_NAME, FlowBatch } from '@sightline/flow';
import { fromKubectlList } from '@sightline/kube-model';
import { Attributor, newAttributionStats } from './attributor.js';
import { ENDPOINT_FIELDS } from './endpoints.js';
import { scopeFromObjects } from './kubectl-cluster.js';
import { awsAccountOfKey, type ClusterScope } from './scope.js';

/** One test per attribution rule of the architecture document; each fails when its rule is broken. */

const TD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
const dump = (file: string) => fromKubectlList(JSON.parse(fs.readFileSync(path.join(TD, file), 'utf8')), { source: file, labelAllowList: ['app'] }).objects;
const T = (iso: string) => Date.parse(iso);

function withClusters(clusters: [string, string, ClusterScope][]): Attributor {
  const a = new Attributor();
  for (const [name, file, scope] of clusters) a.addCluster(name, scope).load(dump(file));
  return a;
}

type Row = Record<string, string | number | null>;
function batchOf(rows: Row[]): FlowBatch {
  const b = new FlowBatch(rows.length);
  rows.forEach((row, r) => {
    for (const [k, v] of Object.entries(row)) {
      if (v === null) continue;
      const spec = FIELD_BY_NAME.get(k)!;
      if (spec.kind === 'string') b.strings(colIndex(k))[r] = v as string;
      else b.numbers(colIndex(k))[r] = typeof v === 'string' ? T(v) : v;
    }
  });
  b.length = rows.length;
  return b;
}
const side = (b: FlowBatch, r: number, s: 'src' | 'dst') =>
  Object.fromEntries(ENDPOINT_FIELDS.map((f) => [f, b.get(r, colIndex(`${s}_k8s_${f}`))])) as Record<string, string | null>;

const PROD: ClusterScope = { cloud: 'aws', accounts: ['111122223333'], networks: ['vpc-0prod'] };
const STAGE: ClusterScope = { cloud: 'aws', accounts: ['444455556666'], networks: ['vpc-0stage'] };
const aws = (o: Row): Row => ({ cloud: 'aws', account: '111122223333', vpc_id: 'vpc-0prod', start: '2025-03-10T12:00:05Z', end: '2025-03-10T12:00:55Z', ...o });

test('scope first: overlapping pod CIDRs in two accounts never steal each other\'s flows', () => {
  const a = withClusters([['prod-eks', 'eks.json', PROD], ['stage-eks', 'eks-stage.json', STAGE]]);
  const b = batchOf([
    aws({ src_addr: '10.0.1.77' }),
    aws({ account: '444455556666', vpc_id: 'vpc-0stage', src_addr: '10.0.1.77' }),
    aws({ account: '999999999999', vpc_id: 'vpc-0other', src_addr: '10.0.1.77' }),
  ]);
  a.attributeBatch(b);
  assert.deepEqual([side(b, 0, 'src').cluster, side(b, 0, 'src').pod], ['prod-eks', 'web-7d9f8c6b5-x2x9k']);
  assert.deepEqual([side(b, 1, 'src').cluster, side(b, 1, 'src').pod], ['stage-eks', 'api-5c7b9d8f4-q8w2e']);
  assert.equal(side(b, 2, 'src').kind, null);
});

test('scope unknown for both clusters: an address both hold is ambiguous, left null and counted, never the first match', () => {
  const any: ClusterScope = { cloud: 'aws', accounts: [], networks: [] };
  const a = withClusters([['prod-eks', 'eks.json', any], ['stage-eks', 'eks-stage.json', any]]);
  const b = batchOf([aws({ src_addr: '10.0.1.77', dst_addr: '10.0.2.55' })]);
  const st = a.attributeBatch(b);
  assert.equal(side(b, 0, 'src').kind, null);
  assert.equal(st.ambiguous, 1);
  assert.equal(st.unattributedSrc, 1);
  // an address only one of them holds is still attributed
  assert.equal(side(b, 0, 'dst').pod, 'db-0');
});

test('AWS: pkt-srcaddr/pkt-dstaddr win over srcaddr/dstaddr (srcaddr is the node primary IP for pod traffic)', () => {
  const a = withClusters([['prod-eks', 'eks.json', PROD]]);
  const b = batchOf([
    aws({ src_addr: '10.0.1.10', pkt_srcaddr: '10.0.1.77', dst_addr: '10.0.2.20', pkt_dstaddr: '10.0.2.55' }),
    aws({ src_addr: '10.0.1.10', dst_addr: '10.0.2.20' }),
  ]);
  a.attributeBatch(b);
  assert.deepEqual([side(b, 0, 'src').kind, side(b, 0, 'src').pod], ['pod', 'web-7d9f8c6b5-x2x9k']);
  assert.deepEqual([side(b, 0, 'dst').kind, side(b, 0, 'dst').pod], ['pod', 'db-0']);
  assert.deepEqual([side(b, 1, 'src').kind, side(b, 1, 'src').node], ['node', 'ip-10-0-1-10.ec2.internal']);
  assert.deepEqual([side(b, 1, 'dst').kind, side(b, 1, 'dst').node], ['node', 'ip-10-0-2-20.ec2.internal']);
});

test('pod IP reuse: a finished Job pod\'s IP taken by the next pod inside one 10-minute window, each flow by its own time', () => {
  const a = withClusters([['prod-eks', 'eks.json', PROD]]);
  const b = batchOf([
    aws({ src_addr: '10.0.1.88', start: '2025-03-10T12:00:10Z', end: '2025-03-10T12:02:30Z' }),
    aws({ src_addr: '10.0.1.88', start: '2025-03-10T12:05:00Z', end: '2025-03-10T12:09:00Z' }),
    aws({ src_addr: '10.0.1.88', start: '2025-03-10T12:03:10Z', end: '2025-03-10T12:03:50Z' }),
  ]);
  const st = a.attributeBatch(b);
  assert.equal(side(b, 0, 'src').pod, 'report-28971230-k9v2m');
  assert.equal(side(b, 1, 'src').pod, 'report-28971234-p7x4z');
  assert.equal(side(b, 2, 'src').pod, null, 'between the two pods nobody held the IP');
  assert.equal(st.unattributedSrc, 1);
});

test('hostNetwork pods are attributed to their node; node InternalIP and ExternalIP', () => {
  const a = withClusters([['prod-eks', 'eks.json', PROD]]);
  const b = batchOf([aws({ src_addr: '10.0.1.10', dst_addr: '54.210.1.10' })]);
  a.attributeBatch(b);
  assert.deepEqual(side(b, 0, 'src'), {
    kind: 'node', cluster: 'prod-eks', namespace: null, pod: null, node: 'ip-10-0-1-10.ec2.internal', workload: null, workload_kind: null, service: null, zone: 'us-east-1a', labels: null,
  });
  assert.deepEqual([side(b, 0, 'dst').kind, side(b, 0, 'dst').node], ['node', 'ip-10-0-1-10.ec2.internal']);
});

test('services: ClusterIP, LoadBalancer ingress IP and external IP', () => {
  const a = withClusters([['prod-eks', 'eks.json', PROD]]);
  const b = batchOf([aws({ dst_addr: '172.20.10.10' }), aws({ dst_addr: '203.0.113.50' }), aws({ dst_addr: '198.51.100.7' }), aws({ dst_addr: '172.20.0.1' })]);
  a.attributeBatch(b);
  for (let r = 0; r < 3; r++) assert.deepEqual([side(b, r, 'dst').kind, side(b, r, 'dst').namespace, side(b, r, 'dst').service], ['service', 'shop', 'web']);
  assert.deepEqual([side(b, 3, 'dst').namespace, side(b, 3, 'dst').service], ['default', 'kubernetes']);
});

test('workload through owner references: ReplicaSet to Deployment, Job to CronJob, StatefulSet, Job alone', () => {
  const a = withClusters([['prod-eks', 'eks.json', PROD]]);
  const b = batchOf([
    aws({ src_addr: '10.0.1.77', dst_addr: '10.0.2.55' }),
    aws({ src_addr: '10.0.1.88', start: '2025-03-10T12:05:00Z', end: '2025-03-10T12:09:00Z' }),
    aws({ src_addr: '10.0.2.66', start: '2025-03-10T09:01:00Z', end: '2025-03-10T09:01:30Z' }),
  ]);
  a.attributeBatch(b);
  assert.deepEqual([side(b, 0, 'src').workload, side(b, 0, 'src').workload_kind], ['web', 'Deployment']);
  assert.deepEqual([side(b, 0, 'dst').workload, side(b, 0, 'dst').workload_kind], ['db', 'StatefulSet']);
  assert.deepEqual([side(b, 1, 'src').workload, side(b, 1, 'src').workload_kind], ['report', 'CronJob']);
  assert.deepEqual([side(b, 2, 'src').workload, side(b, 2, 'src').workload_kind], ['migrate-v42', 'Job']);
  assert.equal(side(b, 0, 'src').service, 'web');
  assert.equal(side(b, 0, 'src').labels, '{"app":"web"}');
});

test('GCP: *_gke_details fill ends the index does not know; disagreements are counted and the index wins', () => {
  const objs = dump('gke.json');
  const a = new Attributor();
  a.addCluster('gke-prod', scopeFromObjects(objs)!).load(objs);
  const gcp = (o: Row): Row => ({ cloud: 'gcp', account: 'acme-prod', start: '2025-03-10T12:00:01Z', end: '2025-03-10T12:00:02Z', src_addr: '10.8.0.12', src_vpc_project_id: 'acme-prod', src_vpc_vpc_name: 'prod-vpc', ...o });
  const b = batchOf([
    gcp({ dst_addr: '10.8.0.33', dest_gke_cluster_name: 'prod', dest_gke_pod_name: 'worker-1', dest_gke_pod_namespace: 'jobs', dest_gke_workload_name: 'worker', dest_gke_workload_type: 'DEPLOYMENT' }),
    gcp({ dst_addr: '10.8.0.20', dest_gke_cluster_name: 'prod', dest_gke_pod_name: 'redis-1', dest_gke_pod_namespace: 'web' }),
    gcp({ dst_addr: '10.8.0.20', dest_gke_cluster_name: 'prod', dest_gke_pod_name: 'redis-0', dest_gke_pod_namespace: 'web' }),
  ]);
  const st = a.attributeBatch(b);
  assert.deepEqual(side(b, 0, 'dst'), {
    kind: 'pod', cluster: 'prod', namespace: 'jobs', pod: 'worker-1', node: null, workload: 'worker', workload_kind: 'Deployment', service: null, zone: null, labels: null,
  });
  assert.equal(side(b, 1, 'dst').pod, 'redis-0');
  assert.equal(side(b, 1, 'dst').cluster, 'gke-prod');
  assert.equal(st.gkeFallback, 1);
  assert.equal(st.gkeDisagreements, 1);
  assert.equal(st.attributedDst, 3);
});

test('unattributed ends stay null and are counted, never guessed', () => {
  const a = withClusters([['prod-eks', 'eks.json', PROD]]);
  const b = batchOf([
    aws({ src_addr: '192.0.2.44', dst_addr: '10.0.1.77' }),
    // the web pod started at 08:00:02: an hour earlier its IP was nobody's
    aws({ src_addr: '10.0.1.77', start: '2025-03-10T07:00:00Z', end: '2025-03-10T07:00:30Z' }),
  ]);
  const st = a.attributeBatch(b, newAttributionStats());
  assert.ok(Object.values(side(b, 0, 'src')).every((v) => v === null));
  assert.equal(side(b, 1, 'src').kind, null);
  assert.equal(side(b, 1, 'dst').kind, null);
  assert.deepEqual([st.attributedSrc, st.unattributedSrc, st.attributedDst, st.unattributedDst], [0, 2, 1, 1]);
});

test('retention: after compaction leases older than the retention are gone, current ones stay', () => {
  const a = new Attributor({ retentionMs: 3600_000 });
  a.addCluster('prod-eks', PROD).load(dump('eks.json'));
  a.compact(T('2025-03-10T12:30:00Z'));
  const b = batchOf([
    aws({ src_addr: '10.0.2.66', start: '2025-03-10T09:01:00Z', end: '2025-03-10T09:01:30Z' }), // migrate pod ended 09:02:30
    aws({ src_addr: '10.0.1.88', start: '2025-03-10T12:00:10Z', end: '2025-03-10T12:02:30Z' }), // ended 12:03, within the hour
  ]);
  a.attributeBatch(b);
  assert.equal(side(b, 0, 'src').kind, null);
  assert.equal(side(b, 1, 'src').pod, 'report-28971230-k9v2m');
});

test('AWS service interfaces (account-id unknown): an NLB NodePort flow is scoped by the object\'s account and the record\'s VPC, both directions', () => {
  const a = withClusters([['prod-eks', 'eks.json', PROD], ['stage-eks', 'eks-stage.json', STAGE]]);
  // The NLB's interface, as a custom-format record shows it (`version account-id interface-id srcaddr
  // dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id pkt-srcaddr
  // pkt-dstaddr flow-direction`), client 198.51.100.23 to the node's NodePort 31380 and back:
  // 5 unknown eni-0nlb1 198.51.100.23 10.0.1.10 50123 31380 6 12 1800 1741608005 1741608055 ACCEPT OK vpc-0prod 198.51.100.23 10.0.1.10 egress
  // 5 unknown eni-0nlb1 10.0.1.10 198.51.100.23 31380 50123 6 10 9100 1741608005 1741608055 ACCEPT OK vpc-0prod 10.0.1.10 198.51.100.23 ingress
  const nlb = (o: Row): Row => aws({ account: 'unknown', interface_id: 'eni-0nlb1', protocol: 6, ...o });
  const rows = [
    nlb({ src_addr: '198.51.100.23', dst_addr: '10.0.1.10', pkt_srcaddr: '198.51.100.23', pkt_dstaddr: '10.0.1.10', src_port: 50123, dst_port: 31380 }),
    nlb({ src_addr: '10.0.1.10', dst_addr: '198.51.100.23', pkt_srcaddr: '10.0.1.10', pkt_dstaddr: '198.51.100.23', src_port: 31380, dst_port: 50123 }),
    // the same pod address in the stage account's VPC: the object's account and the VPC pick the cluster
    nlb({ vpc_id: 'vpc-0stage', src_addr: '198.51.100.23', dst_addr: '10.0.1.77' }),
  ];
  const b = batchOf(rows);
  const st = a.attributeBatch(b, newAttributionStats(), { account: '111122223333' });
  assert.deepEqual([side(b, 0, 'dst').kind, side(b, 0, 'dst').cluster, side(b, 0, 'dst').node], ['node', 'prod-eks', 'ip-10-0-1-10.ec2.internal'], 'client to node:NodePort');
  assert.equal(side(b, 0, 'src').kind, null, 'the client is outside');
  assert.deepEqual([side(b, 1, 'src').kind, side(b, 1, 'src').cluster, side(b, 1, 'src').node], ['node', 'prod-eks', 'ip-10-0-1-10.ec2.internal'], 'node:NodePort back to the client');
  // the object is the prod account's, the VPC the stage one's: no cluster has both, nothing is guessed
  assert.equal(side(b, 2, 'dst').kind, null);
  assert.deepEqual([st.attributedSrc, st.attributedDst], [1, 1]);

  const stage = batchOf([rows[2]!]);
  a.attributeBatch(stage, newAttributionStats(), { account: '444455556666' });
  assert.deepEqual([side(stage, 0, 'dst').cluster, side(stage, 0, 'dst').pod], ['stage-eks', 'api-5c7b9d8f4-q8w2e']);

  // without the object's account `unknown` matches no account-scoped cluster (never widened)
  const blind = batchOf(rows.slice(0, 2));
  a.attributeBatch(blind);
  assert.equal(side(blind, 0, 'dst').kind, null);
  assert.equal(side(blind, 1, 'src').kind, null);
});

test('awsAccountOfKey: the account of plain and Hive-style S3 keys, null otherwise', () => {
  assert.equal(awsAccountOfKey('AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/03/10/x.log.gz'), '123456789012');
  assert.equal(awsAccountOfKey('logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/x.parquet'), '123456789012');
  assert.equal(awsAccountOfKey('compute.googleapis.com/vpc_flows/2026/03/10/x.json'), null);
});
