/**
 * Writes the bundled samples that `pnpm start` / `pnpm demo` run on: three clusters (EKS, GKE, AKS),
 * each with a kubectl-style dump (`<cluster>/kube.json`, the shape `kubectl get nodes,pods,services,
 * endpointslices,replicasets,deployments,statefulsets,daemonsets -A -o json` prints) and one hour of
 * flow logs in its cloud's delivery format and object layout. Deterministic (seeded PRNG, fixed
 * times): running it again rewrites the same bytes, so the committed files can be checked against it.
 *
 * Run from the repository root: node --import tsx samples/make-samples.ts [OUTDIR]
 * (OUTDIR defaults to samples/ itself; a test writes to a temporary one and compares.)
 * SAMPLES_SCALE=N multiplies every connection rate by N (the same clusters, N times the traffic): the
 * embedded end-to-end benchmark runs on such a set. The committed samples are scale 1.
 *
 * Traffic in each cluster: internet -> frontend, frontend -> APIs, APIs -> databases and caches,
 * every app pod -> the cluster DNS, egress to the internet (a payment provider, a package mirror),
 * node agents (hostNetwork DaemonSets) to the cloud APIs, a few rejected scans of the nodes, and a
 * little traffic between VMs outside any cluster (which stays unattributed, as it should).
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const DIR = process.argv[2] ? path.resolve(process.argv[2]) : path.dirname(fileURLToPath(import.meta.url));
/** the hour of flow logs; pods started earlier, so every lease covers it */
const HOUR_START = Date.parse('2026-03-10T12:00:00Z');
const MINUTES = 60;
const SCALE = Number(process.env.SAMPLES_SCALE ?? 1);
if (!(SCALE > 0)) throw new Error(`SAMPLES_SCALE must be a positive number, got ${process.env.SAMPLES_SCALE}`);

// ---------------------------------------------------------------- deterministic randomness
let seed = 0x5eed1e55;
function rand(): number {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');

// ---------------------------------------------------------------- Kubernetes objects
type Obj = Record<string, unknown>;
interface Ref {
  kind: string;
  name: string;
  uid: string;
}
let rv = 1000;
const uid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
const meta = (name: string, ns: string | null, created: string, extra: Obj = {}) => ({
  name,
  ...(ns ? { namespace: ns } : {}),
  uid: uid(),
  resourceVersion: String(++rv),
  creationTimestamp: created,
  ...extra,
});
const ownerRef = (r: Ref) => ({ apiVersion: 'apps/v1', kind: r.kind, name: r.name, uid: r.uid, controller: true, blockOwnerDeletion: true });
const list = (items: Obj[]) => ({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items });

interface NodeSpec {
  name: string;
  ip: string;
  external?: string;
  providerID: string;
  zone: string;
  region: string;
  /** AWS: the node's primary ENI; Azure: its NIC's MAC; GCP: unused */
  nic: string;
  /** AWS: instance id and subnet */
  instance?: string;
  subnet?: string;
}

function nodeObj(n: NodeSpec): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: meta(n.name, null, '2026-03-02T06:00:00Z', {
      labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': n.zone, 'topology.kubernetes.io/region': n.region },
    }),
    spec: { providerID: n.providerID },
    status: {
      addresses: [{ type: 'InternalIP', address: n.ip }, ...(n.external ? [{ type: 'ExternalIP', address: n.external }] : []), { type: 'Hostname', address: n.name }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-03-02T06:01:10Z' }],
    },
  };
}

interface WorkloadSpec {
  ns: string;
  name: string;
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  replicas: number;
  port: number;
  hostNetwork?: boolean;
  service?: { name?: string; clusterIP: string; type?: 'ClusterIP' | 'LoadBalancer'; lbIPs?: string[]; port?: number };
}

/** A pod as the traffic generator sees it. */
interface PodEnd {
  ip: string;
  node: NodeSpec;
  workload: string;
}

interface ClusterSpec {
  name: string;
  nodes: NodeSpec[];
  workloads: WorkloadSpec[];
  /** next free pod IP on a node */
  podIp: (node: NodeSpec, i: number) => string;
}

interface BuiltCluster {
  objects: Obj[];
  pods: Map<string, PodEnd[]>;
}

function buildCluster(c: ClusterSpec): BuiltCluster {
  const objects: Obj[] = c.nodes.map(nodeObj);
  const pods = new Map<string, PodEnd[]>();
  const perNode = new Map<string, number>();
  let rr = 0;
  for (const w of c.workloads) {
    const created = '2026-02-20T10:00:00Z';
    const top = { apiVersion: 'apps/v1', kind: w.kind, metadata: meta(w.name, w.ns, created, { labels: { app: w.name } }), spec: { replicas: w.replicas }, status: {} };
    objects.push(top);
    const topRef: Ref = { kind: w.kind, name: w.name, uid: top.metadata.uid };
    let podOwner = topRef;
    const hash = hex(9).replace(/[0-9]/g, (d) => 'bcdfghjkl'[Number(d)]!).slice(0, 9);
    if (w.kind === 'Deployment') {
      const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta(`${w.name}-${hash}`, w.ns, '2026-03-09T08:00:00Z', { ownerReferences: [ownerRef(topRef)] }), spec: { replicas: w.replicas }, status: {} };
      objects.push(rs);
      podOwner = { kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid };
    }
    const ends: PodEnd[] = [];
    const podObjs: { ip: string; obj: Obj & { metadata: { uid: string; name: string } } }[] = [];
    const count = w.kind === 'DaemonSet' ? c.nodes.length : w.replicas;
    for (let i = 0; i < count; i++) {
      const node = w.kind === 'DaemonSet' ? c.nodes[i]! : c.nodes[rr++ % c.nodes.length]!;
      const k = perNode.get(node.name) ?? 0;
      const ip = w.hostNetwork ? node.ip : c.podIp(node, k);
      if (!w.hostNetwork) perNode.set(node.name, k + 1);
      const name = w.kind === 'StatefulSet' ? `${w.name}-${i}` : w.kind === 'DaemonSet' ? `${w.name}-${hex(5)}` : `${w.name}-${hash}-${hex(5)}`;
      const start = w.kind === 'DaemonSet' ? '2026-03-02T06:00:40Z' : `2026-03-09T08:0${i % 10}:1${i % 10}Z`;
      const obj = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: meta(name, w.ns, start, {
          labels: { app: w.name, 'app.kubernetes.io/name': w.name, 'app.kubernetes.io/part-of': w.ns, ...(w.kind === 'Deployment' ? { 'pod-template-hash': hash } : {}) },
          ownerReferences: [ownerRef(podOwner)],
        }),
        spec: {
          nodeName: node.name,
          ...(w.hostNetwork ? { hostNetwork: true } : {}),
          containers: [{ name: w.name, image: `registry.example.com/${w.ns}/${w.name}:1.${int(0, 9)}.${int(0, 9)}`, ports: [{ containerPort: w.port, protocol: 'TCP' }] }],
          restartPolicy: 'Always',
        },
        status: {
          phase: 'Running',
          hostIP: node.ip,
          podIP: ip,
          podIPs: [{ ip }],
          startTime: start,
          containerStatuses: [{ name: w.name, ready: true, restartCount: 0, image: `registry.example.com/${w.ns}/${w.name}`, state: { running: { startedAt: start } } }],
        },
      };
      objects.push(obj);
      podObjs.push({ ip, obj });
      ends.push({ ip, node, workload: w.name });
    }
    pods.set(w.name, ends);
    if (w.service) {
      const s = w.service;
      const svcName = s.name ?? w.name;
      objects.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta(svcName, w.ns, created),
        spec: { type: s.type ?? 'ClusterIP', clusterIP: s.clusterIP, clusterIPs: [s.clusterIP], ports: [{ name: 'main', port: s.port ?? w.port, protocol: 'TCP', targetPort: w.port }], selector: { app: w.name } },
        status: { loadBalancer: s.lbIPs ? { ingress: s.lbIPs.map((ip) => ({ ip, ipMode: 'VIP' })) } : {} },
      });
      objects.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: meta(`${svcName}-${hex(5)}`, w.ns, created, {
          labels: { 'kubernetes.io/service-name': svcName, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        }),
        addressType: 'IPv4',
        endpoints: podObjs.map((p) => ({
          addresses: [p.ip],
          conditions: { ready: true, serving: true, terminating: false },
          nodeName: (p.obj.spec as { nodeName: string }).nodeName,
          targetRef: { kind: 'Pod', name: p.obj.metadata.name, namespace: w.ns, uid: p.obj.metadata.uid },
        })),
        ports: [{ name: 'main', port: w.port, protocol: 'TCP' }],
      });
    }
  }
  return { objects, pods };
}

// ---------------------------------------------------------------- traffic model
/** One end of a generated connection: a pod, a node, or an address outside every cluster. */
interface End {
  ip: string;
  /** the node whose NIC carries it (pods and nodes); null outside the cluster */
  node: NodeSpec | null;
}
interface Conn {
  src: End;
  dst: End;
  sport: number;
  dport: number;
  proto: number;
  packets: number;
  bytes: number;
  /** reply direction */
  rpackets: number;
  rbytes: number;
  startMs: number;
  endMs: number;
  reject: boolean;
}

interface Edge {
  from: () => End;
  to: () => End;
  port: number;
  proto?: number;
  /** connections per minute */
  perMinute: number;
  /** mean bytes sent by the client; replies are `reply` times that */
  bytes: number;
  reply: number;
  reject?: boolean;
}

const podEnd = (b: BuiltCluster, workload: string) => () => {
  const p = pick(b.pods.get(workload)!);
  return { ip: p.ip, node: p.node };
};
const ext = (ips: readonly string[]) => () => ({ ip: pick(ips), node: null });

function generate(edges: Edge[]): Conn[] {
  const out: Conn[] = [];
  for (let m = 0; m < MINUTES; m++) {
    for (const e of edges) {
      // a count around the rate, so minutes differ; fractional rates happen in some minutes only
      const x = e.perMinute * SCALE * (0.6 + rand() * 0.8);
      const n = Math.floor(x) + (rand() < x - Math.floor(x) ? 1 : 0);
      for (let i = 0; i < n; i++) {
        const src = e.from();
        const dst = e.to();
        const startMs = HOUR_START + m * 60_000 + int(0, 40_000);
        const bytes = e.reject ? int(40, 120) : Math.round(e.bytes * (0.3 + rand() * 1.4));
        const packets = e.reject ? int(1, 3) : Math.max(1, Math.round(bytes / int(600, 1400)));
        const rbytes = e.reject ? 0 : Math.round(bytes * e.reply * (0.5 + rand()));
        out.push({
          src,
          dst,
          sport: int(32768, 60999),
          dport: e.port,
          proto: e.proto ?? 6,
          packets,
          bytes,
          rpackets: e.reject ? 0 : Math.max(1, Math.round(rbytes / 1200)),
          rbytes,
          startMs,
          endMs: startMs + int(50, 19_000),
          reject: e.reject ?? false,
        });
      }
    }
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

/** The reply direction of an accepted connection: flow logs record each direction on its own. */
function withReplies(conns: Conn[]): Conn[] {
  const out: Conn[] = [];
  for (const c of conns) {
    out.push(c);
    if (c.reject || c.rbytes === 0) continue;
    out.push({ ...c, src: c.dst, dst: c.src, sport: c.dport, dport: c.sport, packets: c.rpackets, bytes: c.rbytes, rpackets: c.packets, rbytes: c.bytes });
  }
  return out;
}

const write = (rel: string, body: string | Buffer) => {
  const file = path.join(DIR, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, body);
};
const dump = (cluster: string, objects: Obj[]) => write(`${cluster}/kube.json`, JSON.stringify(list(objects), null, 2) + '\n');

const INTERNET_CLIENTS = ['192.0.2.10', '192.0.2.44', '192.0.2.87', '198.51.100.23', '198.51.100.145', '203.0.113.61', '203.0.113.200'];
const SCANNERS = ['45.33.32.156', '185.220.101.7', '89.248.165.12'];
const PAYMENT_PROVIDER = ['203.0.113.80', '203.0.113.81'];
const PACKAGE_MIRROR = ['151.101.0.223', '151.101.64.223'];

// ================================================================= EKS (AWS)
const AWS_ACCOUNT = '123456789012';
const AWS_VPC = 'vpc-0c4f5e6d7a8b9c0d1';
const AWS_REGION = 'us-east-1';
{
  const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
  const nodes: NodeSpec[] = [10, 42, 77].map((h, i) => {
    const ip = `10.0.${16 * (i + 1)}.${h}`;
    return {
      name: `ip-10-0-${16 * (i + 1)}-${h}.ec2.internal`,
      ip,
      providerID: `aws:///${zones[i]}/i-0${hex(16)}`,
      zone: zones[i]!,
      region: AWS_REGION,
      nic: `eni-0${hex(16)}`,
      instance: `i-0${hex(16)}`,
      subnet: `subnet-0${hex(16)}`,
    };
  });
  for (const n of nodes) n.instance = n.providerID.split('/').pop()!;
  const cluster: ClusterSpec = {
    name: 'shop-eks',
    nodes,
    // VPC CNI: pods take secondary IPs of their node's subnet
    podIp: (n, k) => `${n.ip.split('.').slice(0, 3).join('.')}.${120 + k}`,
    workloads: [
      { ns: 'shop', name: 'storefront', kind: 'Deployment', replicas: 3, port: 8443, service: { clusterIP: '172.20.41.10', type: 'LoadBalancer', lbIPs: ['10.0.0.50'], port: 443 } },
      { ns: 'shop', name: 'cart-api', kind: 'Deployment', replicas: 2, port: 8080, service: { clusterIP: '172.20.41.20' } },
      { ns: 'shop', name: 'catalog-api', kind: 'Deployment', replicas: 2, port: 8080, service: { clusterIP: '172.20.41.30' } },
      { ns: 'shop', name: 'payments-api', kind: 'Deployment', replicas: 2, port: 8080, service: { clusterIP: '172.20.41.40' } },
      { ns: 'shop', name: 'postgres', kind: 'StatefulSet', replicas: 1, port: 5432, service: { clusterIP: '172.20.41.50' } },
      { ns: 'shop', name: 'redis', kind: 'StatefulSet', replicas: 1, port: 6379, service: { clusterIP: '172.20.41.60' } },
      { ns: 'kube-system', name: 'coredns', kind: 'Deployment', replicas: 2, port: 53, service: { name: 'kube-dns', clusterIP: '172.20.0.10' } },
      { ns: 'kube-system', name: 'aws-node', kind: 'DaemonSet', replicas: 3, port: 61678, hostNetwork: true },
    ],
  };
  const b = buildCluster(cluster);
  dump('eks', b.objects);
  const p = (w: string) => podEnd(b, w);
  const anyApp = () => pick([p('storefront'), p('cart-api'), p('catalog-api'), p('payments-api')])();
  const bastion = { ip: '10.0.0.5', node: null };
  const rds = { ip: '10.0.0.200', node: null };
  const conns = generate([
    { from: ext(INTERNET_CLIENTS), to: p('storefront'), port: 8443, perMinute: 6, bytes: 2_400, reply: 18 },
    { from: p('storefront'), to: p('catalog-api'), port: 8080, perMinute: 5, bytes: 900, reply: 12 },
    { from: p('storefront'), to: p('cart-api'), port: 8080, perMinute: 3, bytes: 1_200, reply: 3 },
    { from: p('cart-api'), to: p('redis'), port: 6379, perMinute: 3, bytes: 400, reply: 2 },
    { from: p('cart-api'), to: p('payments-api'), port: 8080, perMinute: 1, bytes: 1_500, reply: 1 },
    { from: p('catalog-api'), to: p('postgres'), port: 5432, perMinute: 3, bytes: 700, reply: 25 },
    { from: p('payments-api'), to: p('postgres'), port: 5432, perMinute: 1, bytes: 600, reply: 4 },
    { from: p('payments-api'), to: ext(PAYMENT_PROVIDER), port: 443, perMinute: 1, bytes: 3_000, reply: 1.5 },
    { from: anyApp, to: p('coredns'), port: 53, proto: 17, perMinute: 6, bytes: 80, reply: 2 },
    { from: p('aws-node'), to: ext(['52.94.228.167', '52.46.145.2']), port: 443, perMinute: 0.5, bytes: 5_000, reply: 2 },
    { from: ext(SCANNERS), to: () => { const n = pick(nodes); return { ip: n.ip, node: n }; }, port: 22, perMinute: 0.4, bytes: 60, reply: 0, reject: true },
    { from: () => bastion, to: () => rds, port: 5432, perMinute: 0.5, bytes: 800, reply: 10 },
  ]);
  writeAws(conns, nodes);
}

/**
 * AWS VPC flow logs, custom format v5, 1-minute aggregation, one gzip object per 5-minute delivery
 * window (records by end time). Each direction of a connection is its own record, and inside the VPC
 * it is logged twice: egress on the sender's ENI and ingress on the receiver's. Pods use secondary IPs, so `srcaddr`/`dstaddr` on a pod's ENI
 * show the node's primary IP and `pkt-srcaddr`/`pkt-dstaddr` the pod's.
 */
function writeAws(conns: Conn[], nodes: NodeSpec[]): void {
  const header = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr flow-direction traffic-path';
  const windows = new Map<number, string[]>();
  const flowLogId = 'fl-0a1b2c3d4e5f67890';
  const inVpc = (ip: string) => ip.startsWith('10.0.');
  const line = (c: Conn, at: NodeSpec, dir: 'ingress' | 'egress') => {
    const s = Math.floor(c.startMs / 1000);
    const e = Math.min(Math.floor(c.endMs / 1000), Math.floor(c.startMs / 60_000) * 60 + 59);
    // the reply direction is its own record on the same ENI: logged as srcaddr=far end
    const addr = (ip: string) => (at.ip === ip || ip.startsWith(at.ip.split('.').slice(0, 3).join('.') + '.') ? at.ip : ip);
    const srcaddr = dir === 'egress' ? addr(c.src.ip) : c.src.ip;
    const dstaddr = dir === 'ingress' ? addr(c.dst.ip) : c.dst.ip;
    const path = dir === 'egress' ? (inVpc(c.dst.ip) ? '1' : '8') : '-';
    const flags = c.proto === 6 ? (c.reject ? '2' : '19') : '0';
    const text = `5 ${AWS_ACCOUNT} ${at.nic} ${srcaddr} ${dstaddr} ${c.sport} ${c.dport} ${c.proto} ${c.packets} ${c.bytes} ${s} ${e} ${c.reject ? 'REJECT' : 'ACCEPT'} OK ${AWS_VPC} ${at.subnet} ${at.instance} ${flags} IPv4 ${c.src.ip} ${c.dst.ip} ${dir} ${path}`;
    const win = Math.floor((e * 1000 - HOUR_START) / 300_000);
    let l = windows.get(win);
    if (!l) windows.set(win, (l = []));
    l.push(text);
  };
  for (const c of withReplies(conns)) {
    if (c.src.node) line(c, c.src.node, 'egress');
    if (c.dst.node) line(c, c.dst.node, 'ingress');
    // outside the cluster: the bastion's own ENI logs it
    if (!c.src.node && !c.dst.node && inVpc(c.src.ip)) line(c, { ...nodes[0]!, nic: 'eni-0bastion5e1f2a3b4', instance: 'i-0bastion7c8d9e0f1', ip: c.src.ip }, 'egress');
  }
  const dayDir = `eks/AWSLogs/${AWS_ACCOUNT}/vpcflowlogs/${AWS_REGION}/2026/03/10`;
  for (const [win, lines] of [...windows.entries()].sort((a, b) => a[0] - b[0])) {
    const t = new Date(HOUR_START + (win + 1) * 300_000);
    const stamp = t.toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z';
    const body = header + '\n' + lines.join('\n') + '\n';
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 4);
    write(`${dayDir}/${AWS_ACCOUNT}_vpcflowlogs_${AWS_REGION}_${flowLogId}_${stamp}_${hash}.log.gz`, gzipSync(body, { level: 9 }));
  }
}

// ================================================================= GKE (GCP)
const GCP_PROJECT = 'acme-web-prod';
const GCP_NETWORK = 'web-vpc';
const GCP_REGION = 'europe-west1';
{
  const zones = ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'];
  const nodes: NodeSpec[] = [0, 1, 2].map((i) => {
    const name = `gke-web-prod-default-pool-7c3e9a1f-${hex(4)}`;
    return { name, ip: `10.132.0.${3 + i}`, providerID: `gce://${GCP_PROJECT}/${zones[i]}/${name}`, zone: zones[i]!, region: GCP_REGION, nic: 'nic0' };
  });
  const cluster: ClusterSpec = {
    name: 'web-gke',
    nodes,
    // VPC-native: each node has a /24 alias range for its pods
    podIp: (n, k) => `10.4.${nodes.indexOf(n)}.${10 + k}`,
    workloads: [
      { ns: 'web', name: 'frontend', kind: 'Deployment', replicas: 3, port: 8080, service: { clusterIP: '10.8.10.10', type: 'LoadBalancer', lbIPs: ['34.140.20.10'], port: 443 } },
      { ns: 'web', name: 'search-api', kind: 'Deployment', replicas: 2, port: 8080, service: { clusterIP: '10.8.10.20' } },
      { ns: 'web', name: 'recommender', kind: 'Deployment', replicas: 2, port: 8080, service: { clusterIP: '10.8.10.30' } },
      { ns: 'web', name: 'elasticsearch', kind: 'StatefulSet', replicas: 3, port: 9200, service: { clusterIP: '10.8.10.40' } },
      { ns: 'web', name: 'memcached', kind: 'StatefulSet', replicas: 1, port: 11211, service: { clusterIP: '10.8.10.50' } },
      { ns: 'kube-system', name: 'kube-dns', kind: 'Deployment', replicas: 2, port: 53, service: { clusterIP: '10.8.0.10' } },
      { ns: 'kube-system', name: 'fluentbit-gke', kind: 'DaemonSet', replicas: 3, port: 2020, hostNetwork: true },
    ],
  };
  const b = buildCluster(cluster);
  dump('gke', b.objects);
  const p = (w: string) => podEnd(b, w);
  const anyApp = () => pick([p('frontend'), p('search-api'), p('recommender')])();
  const conns = generate([
    { from: ext(INTERNET_CLIENTS), to: p('frontend'), port: 8080, perMinute: 1.5, bytes: 2_000, reply: 20 },
    { from: p('frontend'), to: p('search-api'), port: 8080, perMinute: 1.5, bytes: 700, reply: 15 },
    { from: p('frontend'), to: p('recommender'), port: 8080, perMinute: 1, bytes: 600, reply: 6 },
    { from: p('search-api'), to: p('elasticsearch'), port: 9200, perMinute: 1.5, bytes: 1_100, reply: 30 },
    { from: p('recommender'), to: p('memcached'), port: 11211, perMinute: 1, bytes: 200, reply: 8 },
    { from: p('recommender'), to: ext(PACKAGE_MIRROR), port: 443, perMinute: 0.3, bytes: 900, reply: 200 },
    { from: anyApp, to: p('kube-dns'), port: 53, proto: 17, perMinute: 1.5, bytes: 80, reply: 2 },
    { from: p('fluentbit-gke'), to: ext(['142.250.179.138']), port: 443, perMinute: 0.5, bytes: 40_000, reply: 0.05 },
    { from: ext(['10.132.0.50']), to: ext(['10.132.0.51']), port: 3306, perMinute: 0.5, bytes: 500, reply: 6 },
  ]);
  writeGcp(conns, b);
}

/**
 * GCP VPC flow logs as a Cloud Logging sink writes them to Cloud Storage: one LogEntry per line
 * in the hour's `HH:00:00_HH:59:59_S0.json`. Each direction is its own entry, and between two VMs
 * of the VPC it is reported by both (SRC and DEST); GKE pods carry `*_gke_details`, as with metadata annotations on.
 */
function writeGcp(conns: Conn[], b: BuiltCluster): void {
  const byIp = new Map<string, { pod: string; ns: string; wl: string; type: string }>();
  for (const o of b.objects) {
    if (o.kind !== 'Pod' || (o.spec as { hostNetwork?: boolean }).hostNetwork) continue;
    const m = o.metadata as { name: string; namespace: string; labels: { app: string }; ownerReferences: { kind: string }[] };
    const kind = m.ownerReferences[0]!.kind === 'StatefulSet' ? 'STATEFUL_SET' : 'DEPLOYMENT';
    byIp.set((o.status as { podIP: string }).podIP, { pod: m.name, ns: m.namespace, wl: m.labels.app, type: kind });
  }
  const gke = (ip: string) => {
    const d = byIp.get(ip);
    return d ? { cluster: { cluster_location: GCP_REGION, cluster_name: 'web-prod' }, pod: { pod_name: d.pod, pod_namespace: d.ns, pod_workload: { workload_name: d.wl, workload_type: d.type } } } : undefined;
  };
  const vpc = { project_id: GCP_PROJECT, subnetwork_name: 'web-prod-subnet', vpc_name: GCP_NETWORK };
  const vmOf = (e: End) => (e.node ? { project_id: GCP_PROJECT, region: GCP_REGION, vm_name: e.node.name, zone: e.node.zone } : e.ip.startsWith('10.132.') ? { project_id: GCP_PROJECT, region: GCP_REGION, vm_name: `reporting-db-${e.ip.split('.')[3]}`, zone: 'europe-west1-b' } : undefined);
  const location = { continent: 'Europe', country: 'nld', region: 'North Holland', city: 'Amsterdam', asn: 1136 };
  const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '') + `${int(100000, 999999)}Z`;
  const lines: string[] = [];
  for (const c of withReplies(conns)) {
    for (const reporter of ['SRC', 'DEST'] as const) {
      const self = reporter === 'SRC' ? c.src : c.dst;
      const selfVm = vmOf(self);
      if (!selfVm) continue;
      const payload: Obj = {
        bytes_sent: String(c.bytes),
        connection: { dest_ip: c.dst.ip, dest_port: c.dport, protocol: c.proto, src_ip: c.src.ip, src_port: c.sport },
        end_time: iso(c.endMs),
        packets_sent: String(c.packets),
        reporter,
        ...(c.proto === 6 ? { rtt_msec: String(int(1, 40)) } : {}),
        start_time: iso(c.startMs),
      };
      const srcVm = vmOf(c.src);
      const dstVm = vmOf(c.dst);
      if (srcVm) Object.assign(payload, { src_instance: srcVm, src_vpc: vpc });
      else Object.assign(payload, { src_location: location });
      if (dstVm) Object.assign(payload, { dest_instance: dstVm, dest_vpc: vpc });
      else Object.assign(payload, { dest_location: { ...location, country: 'usa', region: 'California', city: 'Mountain View', asn: 15169 } });
      const sg = gke(c.src.ip);
      const dg = gke(c.dst.ip);
      if (sg) payload.src_gke_details = sg;
      if (dg) payload.dest_gke_details = dg;
      const ts = new Date(Math.floor(c.endMs / 1000) * 1000 + int(5_000, 30_000)).toISOString().replace('Z', '') + '123456Z';
      lines.push(
        JSON.stringify({
          insertId: `${hex(6)}${hex(6)}`,
          jsonPayload: payload,
          logName: `projects/${GCP_PROJECT}/logs/compute.googleapis.com%2Fvpc_flows`,
          receiveTimestamp: ts,
          resource: { labels: { location: selfVm.zone, project_id: GCP_PROJECT, subnetwork_id: '4711082365398127456', subnetwork_name: 'web-prod-subnet' }, type: 'gce_subnetwork' },
          timestamp: ts,
        }),
      );
    }
  }
  write('gke/compute.googleapis.com/vpc_flows/2026/03/10/12:00:00_12:59:59_S0.json', lines.join('\n') + '\n');
}

// ================================================================= AKS (Azure)
const AZ_SUB = '5f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8';
const AZ_VNET = `/subscriptions/${AZ_SUB}/resourceGroups/store-rg/providers/Microsoft.Network/virtualNetworks/store-vnet`;
{
  const nodes: NodeSpec[] = [0, 1, 2].map((i) => ({
    name: `aks-nodepool1-31415926-vmss00000${i}`,
    ip: `10.224.0.${4 + i}`,
    providerID: `azure:///subscriptions/${AZ_SUB}/resourceGroups/mc_store-rg_store-aks_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-31415926-vmss/virtualMachines/${i}`,
    zone: `westeurope-${i + 1}`,
    region: 'westeurope',
    nic: `6045BD${hex(6).toUpperCase()}`,
  }));
  const cluster: ClusterSpec = {
    name: 'store-aks',
    nodes,
    // Azure CNI: pods get VNet IPs from the node subnet, 30 per node
    podIp: (n, k) => `10.224.0.${10 + nodes.indexOf(n) * 30 + k}`,
    workloads: [
      { ns: 'store', name: 'web', kind: 'Deployment', replicas: 2, port: 8080, service: { clusterIP: '10.0.120.15', type: 'LoadBalancer', lbIPs: ['20.62.100.5'], port: 443 } },
      { ns: 'store', name: 'orders-api', kind: 'Deployment', replicas: 2, port: 8080, service: { clusterIP: '10.0.120.25' } },
      { ns: 'store', name: 'inventory-api', kind: 'Deployment', replicas: 2, port: 8080, service: { clusterIP: '10.0.120.35' } },
      { ns: 'store', name: 'mssql', kind: 'StatefulSet', replicas: 1, port: 1433, service: { clusterIP: '10.0.120.45' } },
      { ns: 'store', name: 'rabbitmq', kind: 'StatefulSet', replicas: 1, port: 5672, service: { clusterIP: '10.0.120.55' } },
      { ns: 'kube-system', name: 'coredns', kind: 'Deployment', replicas: 2, port: 53, service: { name: 'kube-dns', clusterIP: '10.0.0.10' } },
      { ns: 'kube-system', name: 'kube-proxy', kind: 'DaemonSet', replicas: 3, port: 10256, hostNetwork: true },
    ],
  };
  const b = buildCluster(cluster);
  dump('aks', b.objects);
  const p = (w: string) => podEnd(b, w);
  const anyApp = () => pick([p('web'), p('orders-api'), p('inventory-api')])();
  const conns = generate([
    { from: ext(INTERNET_CLIENTS), to: p('web'), port: 8080, perMinute: 3, bytes: 2_200, reply: 16 },
    { from: p('web'), to: p('orders-api'), port: 8080, perMinute: 2, bytes: 1_000, reply: 4 },
    { from: p('web'), to: p('inventory-api'), port: 8080, perMinute: 2, bytes: 600, reply: 9 },
    { from: p('orders-api'), to: p('mssql'), port: 1433, perMinute: 2, bytes: 900, reply: 6 },
    { from: p('orders-api'), to: p('rabbitmq'), port: 5672, perMinute: 1, bytes: 1_400, reply: 0.3 },
    { from: p('inventory-api'), to: p('mssql'), port: 1433, perMinute: 1, bytes: 500, reply: 20 },
    { from: p('orders-api'), to: ext(PAYMENT_PROVIDER), port: 443, perMinute: 0.5, bytes: 2_500, reply: 1.5 },
    { from: anyApp, to: p('coredns'), port: 53, proto: 17, perMinute: 3, bytes: 80, reply: 2 },
    { from: ext(SCANNERS), to: () => { const n = pick(nodes); return { ip: n.ip, node: n }; }, port: 3389, perMinute: 0.4, bytes: 60, reply: 0, reject: true },
  ]);
  writeAzure(conns, nodes);
}

/**
 * Azure VNet flow logs: one `PT1H.json` per NIC (MAC) for the hour, one record per minute with
 * the tuples that NIC saw, grouped by rule. A connection between two NICs of the VNet appears on
 * both (O on the source's, I on the destination's); each connection is a B tuple at its start and
 * an E tuple with the counters at its end; denied inbound scans are D tuples.
 */
function writeAzure(conns: Conn[], nodes: NodeSpec[]): void {
  const flowLogId = `/SUBSCRIPTIONS/${AZ_SUB.toUpperCase()}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/STOREVNETFLOWLOG`;
  // per NIC, per minute, per rule: tuples
  const byNic = new Map<string, Map<number, Map<string, string[]>>>();
  const add = (nic: string, ms: number, rule: string, tuple: string) => {
    let mins = byNic.get(nic);
    if (!mins) byNic.set(nic, (mins = new Map()));
    const m = Math.floor((ms - HOUR_START) / 60_000);
    let rules = mins.get(m);
    if (!rules) mins.set(m, (rules = new Map()));
    let l = rules.get(rule);
    if (!l) rules.set(rule, (l = []));
    l.push(tuple);
  };
  for (const c of conns) {
    const t = (ms: number, dir: 'I' | 'O', state: string, counters: string) => `${ms},${c.src.ip},${c.dst.ip},${c.sport},${c.dport},${c.proto},${dir},${state},NX,${counters}`;
    for (const [end, dir] of [[c.src, 'O'], [c.dst, 'I']] as const) {
      if (!end.node) continue;
      const external = !(c.src.node && c.dst.node);
      const rule = c.reject ? 'DefaultRule_DenyAllInBound' : external ? (dir === 'I' ? 'UserRule_AllowHttpsInbound' : 'DefaultRule_AllowInternetOutBound') : dir === 'I' ? 'DefaultRule_AllowVnetInBound' : 'DefaultRule_AllowVnetOutBound';
      if (c.reject) {
        add(end.node.nic, c.startMs, rule, t(c.startMs, dir, 'D', '0,0,0,0'));
        continue;
      }
      add(end.node.nic, c.startMs, rule, t(c.startMs, dir, 'B', '0,0,0,0'));
      add(end.node.nic, c.endMs, rule, t(c.endMs, dir, 'E', `${c.packets},${c.bytes},${c.rpackets},${c.rbytes}`));
    }
  }
  for (const n of nodes) {
    const mins = byNic.get(n.nic);
    if (!mins) continue;
    const records = [...mins.entries()]
      .sort((a, b) => a[0] - b[0])
      .filter(([m]) => m >= 0 && m < MINUTES)
      .map(([m, rules]) => ({
        time: new Date(HOUR_START + (m + 1) * 60_000).toISOString().replace('Z', '0000Z'),
        flowLogVersion: 4,
        flowLogGUID: '2b2b2b2b-3c3c-4d4d-5e5e-6f6f6f6f6f6f',
        macAddress: n.nic,
        category: 'FlowLogFlowEvent',
        flowLogResourceID: flowLogId,
        targetResourceID: AZ_VNET,
        operationName: 'FlowLogFlowEvent',
        flowRecords: {
          flows: [
            {
              aclID: '9a9a9a9a-8b8b-7c7c-6d6d-5e5e5e5e5e5e',
              flowGroups: [...rules.entries()].sort().map(([rule, flowTuples]) => ({ rule, flowTuples })),
            },
          ],
        },
      }));
    // as the block blob reads once the hour is closed: `{"records":[` + one block per record + `]}`
    const body = '{"records":[' + records.map((r) => JSON.stringify(r)).join(',') + ']}';
    write(`aks/insights-logs-flowlogflowevent/flowLogResourceID=${flowLogId}/y=2026/m=03/d=10/h=12/m=00/macAddress=${n.nic}/PT1H.json`, body);
  }
}

// the clusters, their dumps and the account/network scope of each, for the embedded pipeline
write(
  'sightline.json',
  JSON.stringify(
    {
      tenant: 'demo',
      clusters: [
        { name: 'shop-eks', kube: 'eks/kube.json', scope: { cloud: 'aws', accounts: [AWS_ACCOUNT], networks: [AWS_VPC] } },
        { name: 'web-gke', kube: 'gke/kube.json', scope: { cloud: 'gcp', accounts: [GCP_PROJECT], networks: [GCP_NETWORK] } },
        { name: 'store-aks', kube: 'aks/kube.json', scope: { cloud: 'azure', accounts: [AZ_SUB], networks: [AZ_VNET] } },
      ],
      sources: ['eks/AWSLogs', 'gke/compute.googleapis.com', 'aks/insights-logs-flowlogflowevent'],
      // The samples are one fixed hour in the past: the default retention (raw 30 days) would
      // delete them a minute into `pnpm start`. Ten years keeps the demo whole.
      retention: { days: { flows: 3650, '1m': 3650, '5m': 3650, '1h': 3650 } },
    },
    null,
    2,
  ) + '\n',
);
