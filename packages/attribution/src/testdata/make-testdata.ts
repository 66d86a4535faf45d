/**
 * Writes the kubectl dumps and flow files the attribution and `sightline enrich` tests read.
 * The dumps have the shape `kubectl get nodes,pods,services,endpointslices,replicasets,
 * deployments,statefulsets,daemonsets,jobs,cronjobs -A -o json` prints (trimmed to the fields
 * a real dump has around the ones attribution reads). Run: node --import tsx make-testdata.ts
 *
 * Scenarios:
 * - eks.json (prod-eks, account 111122223333, vpc-0prod): VPC CNI pods on secondary IPs of nodes
 *   10.0.1.10 / 10.0.2.20, a hostNetwork DaemonSet pod, a CronJob's completed Job pod whose IP
 *   10.0.1.88 is reused by the next Job's pod inside one 10-minute window, a Job without CronJob,
 *   a LoadBalancer service with ingress and external IPs, a headless StatefulSet service.
 * - eks-stage.json (stage-eks, account 444455556666, vpc-0stage): the same pod CIDR, with
 *   another pod on 10.0.1.77.
 * - gke.json (gke-prod, project acme-prod): pods on alias IPs, a pod deleted before the dump.
 * - aks.json (aks-prod, subscription 5f1c...): Azure CNI pods in the VNet, LB service.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = path.dirname(fileURLToPath(import.meta.url));
let uidSeq = 0;
const uid = (tag: string) => `${tag.padEnd(8, '0').slice(0, 8)}-${(++uidSeq).toString(16).padStart(4, '0')}-4c1e-9b7a-0242ac1200${(uidSeq % 100).toString().padStart(2, '0')}`;

type Obj = Record<string, unknown>;
interface Ref {
  kind: string;
  name: string;
  uid: string;
}

function meta(name: string, ns: string | null, created: string, extra: Obj = {}): Obj & { uid: string } {
  return { name, ...(ns ? { namespace: ns } : {}), uid: uid(name), resourceVersion: String(1000 + uidSeq), creationTimestamp: created, ...extra };
}
const ownerRef = (r: Ref, apiVersion: string) => ({ apiVersion, kind: r.kind, name: r.name, uid: r.uid, controller: true, blockOwnerDeletion: true });

function node(name: string, ips: { internal: string; external?: string }, providerID: string, zone: string, region: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: meta(name, null, '2025-03-01T06:00:00Z', {
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': zone, 'topology.kubernetes.io/region': region },
    }),
    spec: { providerID },
    status: {
      addresses: [
        { type: 'InternalIP', address: ips.internal },
        ...(ips.external ? [{ type: 'ExternalIP', address: ips.external }] : []),
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-03-01T06:01:10Z' }],
    },
  };
}

interface PodOpts {
  ns: string;
  node: string;
  ip: string;
  owner?: Ref;
  labels?: Record<string, string>;
  start: string;
  phase?: string;
  finishedAt?: string;
  hostNetwork?: boolean;
  deletionTimestamp?: string;
}
function pod(name: string, o: PodOpts): Obj & { metadata: { uid: string } } {
  const terminated = o.finishedAt
    ? { terminated: { exitCode: o.phase === 'Failed' ? 1 : 0, reason: o.phase === 'Failed' ? 'Error' : 'Completed', startedAt: o.start, finishedAt: o.finishedAt } }
    : { running: { startedAt: o.start } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(name, o.ns, o.start, {
      labels: o.labels ?? {},
      ...(o.owner ? { ownerReferences: [ownerRef(o.owner, o.owner.kind === 'Job' ? 'batch/v1' : 'apps/v1')] } : {}),
      ...(o.deletionTimestamp ? { deletionTimestamp: o.deletionTimestamp, deletionGracePeriodSeconds: 30 } : {}),
    }),
    spec: { nodeName: o.node, ...(o.hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'main', image: 'registry.example/app:1.4.2' }], restartPolicy: o.owner?.kind === 'Job' ? 'Never' : 'Always' },
    status: {
      phase: o.phase ?? 'Running',
      hostIP: o.hostNetwork ? o.ip : undefined,
      podIP: o.ip,
      podIPs: [{ ip: o.ip }],
      startTime: o.start,
      containerStatuses: [{ name: 'main', ready: !o.finishedAt, restartCount: 0, image: 'registry.example/app:1.4.2', state: terminated }],
    },
  } as Obj & { metadata: { uid: string } };
}

function owner(kind: string, apiVersion: string, name: string, ns: string, created: string, parent?: Ref): Obj & { ref: Ref } {
  const m = meta(name, ns, created, parent ? { ownerReferences: [ownerRef(parent, kind === 'Job' ? 'batch/v1' : 'apps/v1')] } : {});
  const obj: Obj = { apiVersion, kind, metadata: m, spec: {}, status: {} };
  Object.defineProperty(obj, 'ref', { value: { kind, name, uid: m.uid }, enumerable: false });
  return obj as Obj & { ref: Ref };
}

function service(name: string, ns: string, created: string, s: { type?: string; clusterIP: string; externalIPs?: string[]; lbIPs?: string[] }): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, ns, created),
    spec: {
      type: s.type ?? 'ClusterIP',
      clusterIP: s.clusterIP,
      clusterIPs: [s.clusterIP],
      ...(s.externalIPs ? { externalIPs: s.externalIPs } : {}),
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
    },
    status: { loadBalancer: s.lbIPs ? { ingress: s.lbIPs.map((ip) => ({ ip, ipMode: 'VIP' })) } : {} },
  };
}

function slice(svc: string, ns: string, created: string, pods: { ip: string; pod: Obj & { metadata: { uid: string } } }[]): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: meta(`${svc}-${uid('x').slice(0, 5)}`, ns, created, { labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } }),
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: true },
      targetRef: { kind: 'Pod', name: (p.pod.metadata as unknown as { name: string }).name, namespace: ns, uid: p.pod.metadata.uid },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

const list = (items: Obj[]) => ({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items });
const write = (name: string, body: string) => fs.writeFileSync(path.join(DIR, name), body);

// --- EKS prod -----------------------------------------------------------------------------
{
  const n1 = node('ip-10-0-1-10.ec2.internal', { internal: '10.0.1.10', external: '54.210.1.10' }, 'aws:///us-east-1a/i-0a1b2c3d4e5f60001', 'us-east-1a', 'us-east-1');
  const n2 = node('ip-10-0-2-20.ec2.internal', { internal: '10.0.2.20' }, 'aws:///us-east-1b/i-0a1b2c3d4e5f60002', 'us-east-1b', 'us-east-1');
  const dep = owner('Deployment', 'apps/v1', 'web', 'shop', '2025-02-20T10:00:00Z');
  const rs = owner('ReplicaSet', 'apps/v1', 'web-7d9f8c6b5', 'shop', '2025-03-10T07:59:50Z', dep.ref);
  const sts = owner('StatefulSet', 'apps/v1', 'db', 'shop', '2025-02-20T10:00:00Z');
  const ds = owner('DaemonSet', 'apps/v1', 'aws-node', 'kube-system', '2025-03-01T05:50:00Z');
  const cj = owner('CronJob', 'batch/v1', 'report', 'batch', '2025-02-01T00:00:00Z');
  const job1 = owner('Job', 'batch/v1', 'report-28971230', 'batch', '2025-03-10T11:58:00Z', cj.ref);
  const job2 = owner('Job', 'batch/v1', 'report-28971234', 'batch', '2025-03-10T12:04:00Z', cj.ref);
  const migrate = owner('Job', 'batch/v1', 'migrate-v42', 'shop', '2025-03-10T09:00:00Z');
  const web = pod('web-7d9f8c6b5-x2x9k', { ns: 'shop', node: n1Name(n1), ip: '10.0.1.77', owner: rs.ref, start: '2025-03-10T08:00:02Z', labels: { app: 'web', team: 'shop', 'pod-template-hash': '7d9f8c6b5' } });
  const db = pod('db-0', { ns: 'shop', node: n1Name(n2), ip: '10.0.2.55', owner: sts.ref, start: '2025-03-05T03:00:00Z', labels: { app: 'db', 'apps.kubernetes.io/pod-index': '0' } });
  const awsNode = pod('aws-node-7x4kq', { ns: 'kube-system', node: n1Name(n1), ip: '10.0.1.10', owner: ds.ref, start: '2025-03-01T06:00:30Z', hostNetwork: true, labels: { 'k8s-app': 'aws-node' } });
  const rep1 = pod('report-28971230-k9v2m', { ns: 'batch', node: n1Name(n1), ip: '10.0.1.88', owner: job1.ref, start: '2025-03-10T11:58:01Z', phase: 'Succeeded', finishedAt: '2025-03-10T12:03:00Z', labels: { app: 'report' } });
  const rep2 = pod('report-28971234-p7x4z', { ns: 'batch', node: n1Name(n1), ip: '10.0.1.88', owner: job2.ref, start: '2025-03-10T12:04:00Z', labels: { app: 'report' } });
  const mig = pod('migrate-v42-2hq8d', { ns: 'shop', node: n1Name(n2), ip: '10.0.2.66', owner: migrate.ref, start: '2025-03-10T09:00:01Z', phase: 'Succeeded', finishedAt: '2025-03-10T09:02:30Z', labels: { app: 'migrate' } });
  const items = [
    n1, n2, web, db, awsNode, rep1, rep2, mig,
    service('kubernetes', 'default', '2025-03-01T05:45:00Z', { clusterIP: '172.20.0.1' }),
    service('web', 'shop', '2025-02-20T10:00:00Z', { type: 'LoadBalancer', clusterIP: '172.20.10.10', externalIPs: ['198.51.100.7'], lbIPs: ['203.0.113.50'] }),
    service('db', 'shop', '2025-02-20T10:00:00Z', { clusterIP: 'None' }),
    slice('web', 'shop', '2025-02-20T10:00:00Z', [{ ip: '10.0.1.77', pod: web }]),
    slice('db', 'shop', '2025-02-20T10:00:00Z', [{ ip: '10.0.2.55', pod: db }]),
    rs, dep, sts, ds, job1, job2, cj, migrate,
  ];
  write('eks.json', JSON.stringify(list(items), null, 2) + '\n');
  // kube-model's converter tests read this same file (no copy beside them)

  const hdr = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id pkt-srcaddr pkt-dstaddr flow-direction';
  const l = (eni: string, src: string, dst: string, sp: number, dp: number, start: number, end: number, psrc: string, pdst: string, dir: string) =>
    `5 111122223333 ${eni} ${src} ${dst} ${sp} ${dp} 6 10 8400 ${start} ${end} ACCEPT OK vpc-0prod ${psrc} ${pdst} ${dir}`;
  const t = (iso: string) => Date.parse(iso) / 1000;
  write(
    'eks-flows.log',
    [
      hdr,
      // 1: web pod egress to db, logged on node 1's ENI: srcaddr is the node's primary IP, pkt-srcaddr the pod's
      l('eni-0n1', '10.0.1.10', '10.0.2.55', 41000, 5432, t('2025-03-10T12:00:05Z'), t('2025-03-10T12:00:55Z'), '10.0.1.77', '10.0.2.55', 'egress'),
      // 2: the same packets without pkt-* fields: the node
      l('eni-0n1', '10.0.1.10', '10.0.2.55', 41001, 5432, t('2025-03-10T12:00:05Z'), t('2025-03-10T12:00:55Z'), '-', '-', 'egress'),
      // 3, 4: 10.0.1.88 in one 10-minute window: the finished Job pod, then the next Job's pod
      l('eni-0n1', '10.0.1.10', '10.0.2.55', 42000, 5432, t('2025-03-10T12:00:10Z'), t('2025-03-10T12:02:30Z'), '10.0.1.88', '10.0.2.55', 'egress'),
      l('eni-0n1', '10.0.1.10', '10.0.2.55', 42001, 5432, t('2025-03-10T12:05:00Z'), t('2025-03-10T12:09:00Z'), '10.0.1.88', '10.0.2.55', 'egress'),
      // 5: hostNetwork DaemonSet pod (node IP) to the API server's ClusterIP
      l('eni-0n1', '10.0.1.10', '172.20.0.1', 43000, 443, t('2025-03-10T12:01:00Z'), t('2025-03-10T12:01:30Z'), '10.0.1.10', '172.20.0.1', 'egress'),
      // 6: internet client to the LB ingress IP, 7: to the external IP, 8: to node 1's ExternalIP
      l('eni-0n1', '192.0.2.44', '203.0.113.50', 50000, 80, t('2025-03-10T12:02:00Z'), t('2025-03-10T12:02:10Z'), '192.0.2.44', '203.0.113.50', 'ingress'),
      l('eni-0n1', '192.0.2.44', '198.51.100.7', 50001, 80, t('2025-03-10T12:02:00Z'), t('2025-03-10T12:02:10Z'), '192.0.2.44', '198.51.100.7', 'ingress'),
      l('eni-0n1', '192.0.2.44', '54.210.1.10', 50002, 22, t('2025-03-10T12:02:00Z'), t('2025-03-10T12:02:10Z'), '192.0.2.44', '54.210.1.10', 'ingress'),
      // 9: Job without CronJob, during its run; 10: same IP after the pod finished (nobody holds it)
      l('eni-0n2', '10.0.2.20', '10.0.2.55', 44000, 5432, t('2025-03-10T09:01:00Z'), t('2025-03-10T09:01:30Z'), '10.0.2.66', '10.0.2.55', 'egress'),
      l('eni-0n2', '10.0.2.20', '10.0.2.55', 44001, 5432, t('2025-03-10T09:30:00Z'), t('2025-03-10T09:30:30Z'), '10.0.2.66', '10.0.2.55', 'egress'),
      // 11: before the web pod existed: its IP held by nobody
      l('eni-0n1', '10.0.1.10', '10.0.2.55', 45000, 5432, t('2025-03-10T07:00:00Z'), t('2025-03-10T07:00:30Z'), '10.0.1.77', '10.0.2.55', 'egress'),
    ].join('\n') + '\n',
  );
  write(
    'eks-stage-flows.log',
    [
      hdr.replace('vpc-id', 'vpc-id'),
      // stage account, same pod IP 10.0.1.77: must be stage-eks's pod, never prod's
      `5 444455556666 eni-0s1 10.0.1.10 10.0.1.99 46000 8080 6 10 8400 ${t('2025-03-10T12:00:05Z')} ${t('2025-03-10T12:00:55Z')} ACCEPT OK vpc-0stage 10.0.1.77 10.0.1.99 egress`,
    ].join('\n') + '\n',
  );
}

// --- EKS stage: overlapping pod CIDR ---------------------------------------------------------
{
  const n1 = node('ip-10-0-1-10.ec2.internal', { internal: '10.0.1.10' }, 'aws:///us-east-1a/i-0f9e8d7c6b5a40001', 'us-east-1a', 'us-east-1');
  const dep = owner('Deployment', 'apps/v1', 'api', 'stage', '2025-03-02T10:00:00Z');
  const rs = owner('ReplicaSet', 'apps/v1', 'api-5c7b9d8f4', 'stage', '2025-03-02T10:00:00Z', dep.ref);
  const api = pod('api-5c7b9d8f4-q8w2e', { ns: 'stage', node: n1Name(n1), ip: '10.0.1.77', owner: rs.ref, start: '2025-03-09T00:00:00Z', labels: { app: 'api' } });
  const cache = pod('cache-5c7b9d8f4-zz9a1', { ns: 'stage', node: n1Name(n1), ip: '10.0.1.99', owner: rs.ref, start: '2025-03-09T00:00:00Z', labels: { app: 'cache' } });
  write('eks-stage.json', JSON.stringify(list([n1, api, cache, rs, dep]), null, 2) + '\n');
}

// --- GKE -----------------------------------------------------------------------------------
{
  const n1 = node('gke-prod-pool-1-3f2a9c1e-x7k2', { internal: '10.128.0.5', external: '34.74.10.5' }, 'gce://acme-prod/us-east1-b/gke-prod-pool-1-3f2a9c1e-x7k2', 'us-east1-b', 'us-east1');
  const dep = owner('Deployment', 'apps/v1', 'frontend', 'web', '2025-02-10T00:00:00Z');
  const rs = owner('ReplicaSet', 'apps/v1', 'frontend-6b8d7f9c4', 'web', '2025-03-10T00:00:00Z', dep.ref);
  const sts = owner('StatefulSet', 'apps/v1', 'redis', 'web', '2025-02-10T00:00:00Z');
  const fe = pod('frontend-6b8d7f9c4-abcde', { ns: 'web', node: n1Name(n1), ip: '10.8.0.12', owner: rs.ref, start: '2025-03-10T00:00:10Z', labels: { app: 'frontend', 'app.kubernetes.io/version': '3.1.0' } });
  const redis = pod('redis-0', { ns: 'web', node: n1Name(n1), ip: '10.8.0.20', owner: sts.ref, start: '2025-03-09T00:00:10Z', labels: { app: 'redis' } });
  const items = [
    n1, fe, redis, rs, dep, sts,
    service('frontend', 'web', '2025-02-10T00:00:00Z', { type: 'LoadBalancer', clusterIP: '10.12.0.40', lbIPs: ['35.190.1.40'] }),
    slice('frontend', 'web', '2025-02-10T00:00:00Z', [{ ip: '10.8.0.12', pod: fe }]),
  ];
  write('gke.json', JSON.stringify(list(items), null, 2) + '\n');
  const entry = (id: string, start: string, end: string, src: string, dst: string, sp: number, dp: number, extra: Obj) =>
    JSON.stringify({
      insertId: id,
      jsonPayload: {
        bytes_sent: '5120',
        connection: { dest_ip: dst, dest_port: dp, protocol: 6, src_ip: src, src_port: sp },
        end_time: end,
        packets_sent: '12',
        reporter: 'SRC',
        start_time: start,
        src_instance: { project_id: 'acme-prod', region: 'us-east1', vm_name: 'gke-prod-pool-1-3f2a9c1e-x7k2', zone: 'us-east1-b' },
        src_vpc: { project_id: 'acme-prod', subnetwork_name: 'gke-prod-subnet', vpc_name: 'prod-vpc' },
        ...extra,
      },
      logName: 'projects/acme-prod/logs/compute.googleapis.com%2Fvpc_flows',
      receiveTimestamp: '2025-03-10T12:10:00.000000000Z',
      resource: { labels: { location: 'us-east1-b', project_id: 'acme-prod', subnetwork_id: '1234567890123456789', subnetwork_name: 'gke-prod-subnet' }, type: 'gce_subnetwork' },
      timestamp: '2025-03-10T12:10:00.000000000Z',
    });
  const gke = (pod: string, ns: string, wl: string, type: string) => ({
    cluster: { cluster_location: 'us-east1', cluster_name: 'prod' },
    pod: { pod_name: pod, pod_namespace: ns, pod_workload: { workload_name: wl, workload_type: type } },
  });
  const destVpc = { dest_vpc: { project_id: 'acme-prod', subnetwork_name: 'gke-prod-subnet', vpc_name: 'prod-vpc' } };
  write(
    'gke-flows.ndjson',
    [
      // 1: frontend -> redis, GKE details agree with the index
      entry('g1', '2025-03-10T12:00:01.100000000Z', '2025-03-10T12:00:02.200000000Z', '10.8.0.12', '10.8.0.20', 40000, 6379, {
        ...destVpc,
        src_gke_details: gke('frontend-6b8d7f9c4-abcde', 'web', 'frontend', 'DEPLOYMENT'),
        dest_gke_details: gke('redis-0', 'web', 'redis', 'STATEFUL_SET'),
      }),
      // 2: destination pod gone before the dump: only GKE knows it
      entry('g2', '2025-03-10T12:00:03Z', '2025-03-10T12:00:04Z', '10.8.0.12', '10.8.0.33', 40001, 9000, {
        ...destVpc,
        dest_gke_details: gke('worker-7f6d5c4b3-zzzzz', 'jobs', 'worker', 'DEPLOYMENT'),
      }),
      // 3: GKE names another pod than the index (index wins, disagreement counted)
      entry('g3', '2025-03-10T12:00:05Z', '2025-03-10T12:00:06Z', '10.8.0.12', '10.8.0.20', 40002, 6379, {
        ...destVpc,
        dest_gke_details: gke('redis-1', 'web', 'redis', 'STATEFUL_SET'),
      }),
      // 4: to the internet, no details: destination stays null
      entry('g4', '2025-03-10T12:00:07Z', '2025-03-10T12:00:08Z', '10.8.0.12', '198.51.100.99', 40003, 443, {}),
    ].join('\n') + '\n',
  );
}

// --- AKS -----------------------------------------------------------------------------------
{
  const sub = '5f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8';
  const n1 = node(
    'aks-nodepool1-12345678-vmss000000',
    { internal: '10.224.0.4' },
    `azure:///subscriptions/${sub}/resourceGroups/mc_aks-rg_aks-prod_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0`,
    'eastus-1',
    'eastus',
  );
  const dep = owner('Deployment', 'apps/v1', 'cart', 'store', '2025-02-01T00:00:00Z');
  const rs = owner('ReplicaSet', 'apps/v1', 'cart-55d8c9b7f6', 'store', '2025-03-01T00:00:00Z', dep.ref);
  const ds = owner('DaemonSet', 'apps/v1', 'kube-proxy', 'kube-system', '2025-03-01T00:00:00Z');
  const cart = pod('cart-55d8c9b7f6-m2n3b', { ns: 'store', node: n1Name(n1), ip: '10.224.0.33', owner: rs.ref, start: '2025-03-01T00:10:00Z', labels: { app: 'cart', 'app.kubernetes.io/version': '2.0.1' } });
  const proxy = pod('kube-proxy-8xk2p', { ns: 'kube-system', node: n1Name(n1), ip: '10.224.0.4', owner: ds.ref, start: '2025-03-01T00:01:00Z', hostNetwork: true });
  const items = [
    n1, cart, proxy, rs, dep, ds,
    service('cart', 'store', '2025-02-01T00:00:00Z', { type: 'LoadBalancer', clusterIP: '10.0.120.15', lbIPs: ['20.62.100.5'] }),
    slice('cart', 'store', '2025-02-01T00:00:00Z', [{ ip: '10.224.0.33', pod: cart }]),
  ];
  write('aks.json', JSON.stringify(list(items), null, 2) + '\n');
  const ms = (iso: string) => Date.parse(iso);
  const doc = {
    records: [
      {
        time: '2025-03-10T12:01:00.0000000Z',
        flowLogVersion: 4,
        flowLogGUID: '2b2b2b2b-3c3c-4d4d-5e5e-6f6f6f6f6f6f',
        macAddress: '6045BD112233',
        category: 'FlowLogFlowEvent',
        flowLogResourceID: `/SUBSCRIPTIONS/${sub.toUpperCase()}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/AKSVNETFLOWLOG`,
        targetResourceID: `/subscriptions/${sub}/resourceGroups/aks-rg/providers/Microsoft.Network/virtualNetworks/aks-vnet`,
        operationName: 'FlowLogFlowEvent',
        flowRecords: {
          flows: [
            {
              aclID: '9a9a9a9a-8b8b-7c7c-6d6d-5e5e5e5e5e5e',
              flowGroups: [
                {
                  rule: 'DefaultRule_AllowInternetInBound',
                  flowTuples: [
                    `${ms('2025-03-10T12:00:30Z')},192.0.2.80,20.62.100.5,51000,443,6,I,E,NX,12,4200,10,9000`,
                    `${ms('2025-03-10T12:00:31Z')},10.224.0.33,203.0.113.9,52000,443,6,O,E,NX,4,800,4,1600`,
                    `${ms('2025-03-10T12:00:32Z')},10.224.0.4,10.224.0.33,53000,8080,6,O,E,NX,2,120,2,240`,
                  ],
                },
              ],
            },
          ],
        },
      },
    ],
  };
  write('aks-flows.json', JSON.stringify(doc) + '\n');
}

function n1Name(n: Obj): string {
  return (n.metadata as { name: string }).name;
}
