import { colIndex, FlowBatch } from '../src/index.js';
import { rng } from '@sightline/testkit';

/**
 * Realistic batches for the encoding benchmark, built by filling FlowBatch columns the way the
 * parsers do. Value distributions follow what one source object holds: one account and region,
 * a few dozen interfaces or NICs, EKS/GKE/AKS pod ranges, well-known server ports against
 * ephemeral client ports, heavy-tailed counters, times within the object's window.
 * A seeded generator keeps every run on the same data.
 */


type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: R, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const hex = (r: R, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
};
/** heavy tail: most flows are a few packets, some are millions */
const packetsOf = (r: R): number => Math.max(1, Math.floor(Math.exp(r() * r() * 14)));
const SERVER_PORTS = [443, 443, 443, 80, 53, 8080, 5432, 6379, 9092, 3306, 10250, 8443, 9090];
const ephemeral = (r: R): number => int(r, 32768, 60999);
const publicIp = (r: R): string => `${pick(r, [3, 13, 34, 35, 52, 54, 104, 142, 151, 185])}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;

function setS(b: FlowBatch, name: string, row: number, v: string | null): void {
  b.strings(colIndex(name))[row] = v;
}
function setN(b: FlowBatch, name: string, row: number, v: number | null): void {
  b.numbers(colIndex(name))[row] = v === null ? NaN : v;
}

/** AWS VPC flow log, custom v5 format on an EKS cluster (VPC CNI: pods are secondary IPs of node ENIs). */
export function awsBatch(n: number, seed = 1): FlowBatch {
  const r = rng(seed);
  const b = new FlowBatch(n);
  const account = '123456789012';
  const subnets = ['subnet-0a1b2c3d4e5f60718', 'subnet-0f9e8d7c6b5a49382', 'subnet-01234abcd5678ef90'];
  const enis = Array.from({ length: 40 }, (_, i) => ({
    id: `eni-0${hex(r, 16)}`,
    instance: `i-0${hex(r, 16)}`,
    subnet: subnets[i % 3]!,
    az: ['use1-az1', 'use1-az2', 'use1-az4'][i % 3]!,
    primary: `10.0.${(i % 3) * 32 + int(r, 0, 31)}.${int(r, 4, 250)}`,
    pods: Array.from({ length: 12 }, () => `10.0.${64 + int(r, 0, 63)}.${int(r, 1, 254)}`),
  }));
  const t0 = 1_732_614_000; // object window start, Unix seconds
  // records arrive grouped by interface, in capture order
  for (let i = 0; i < n; i++) {
    const eni = enis[Math.floor((i / n) * enis.length)]!;
    const egress = r() < 0.5;
    const local = r() < 0.8 ? pick(r, eni.pods) : eni.primary;
    const remote = r() < 0.6 ? `10.0.${int(r, 64, 127)}.${int(r, 1, 254)}` : publicIp(r);
    const proto = r() < 0.85 ? 6 : r() < 0.9 ? 17 : 1;
    const sp = proto === 1 ? 0 : egress ? ephemeral(r) : pick(r, SERVER_PORTS);
    const dp = proto === 1 ? 0 : egress ? pick(r, SERVER_PORTS) : ephemeral(r);
    const reject = r() < 0.04;
    const pk = packetsOf(r);
    const start = t0 + int(r, 0, 299);
    const [src, dst] = egress ? [local, remote] : [remote, local];
    setS(b, 'cloud', i, 'aws');
    setS(b, 'format', i, 'aws-vpc-text');
    setS(b, 'account', i, account);
    setS(b, 'src_addr', i, src);
    setS(b, 'dst_addr', i, dst);
    setN(b, 'src_port', i, sp);
    setN(b, 'dst_port', i, dp);
    setN(b, 'protocol', i, proto);
    setN(b, 'packets', i, pk);
    setN(b, 'bytes', i, pk * int(r, 52, 1500));
    setN(b, 'start', i, start * 1000);
    setN(b, 'end', i, (start + int(r, 1, 60)) * 1000);
    setS(b, 'action', i, reject ? 'reject' : 'accept');
    setS(b, 'direction', i, egress ? 'egress' : 'ingress');
    setN(b, 'version', i, 5);
    setS(b, 'account_id', i, account);
    setS(b, 'interface_id', i, eni.id);
    setS(b, 'srcaddr', i, egress ? eni.primary : src);
    setS(b, 'dstaddr', i, egress ? dst : eni.primary);
    setS(b, 'log_status', i, 'OK');
    setS(b, 'vpc_id', i, 'vpc-0123456789abcdef0');
    setS(b, 'subnet_id', i, eni.subnet);
    setS(b, 'instance_id', i, eni.instance);
    setN(b, 'tcp_flags', i, proto === 6 ? pick(r, [2, 3, 18, 19, 1, 4, 0]) : 0);
    setS(b, 'type', i, 'IPv4');
    setS(b, 'pkt_srcaddr', i, src);
    setS(b, 'pkt_dstaddr', i, dst);
    setS(b, 'region', i, 'us-east-1');
    setS(b, 'az_id', i, eni.az);
    setS(b, 'sublocation_type', i, null);
    setS(b, 'sublocation_id', i, null);
    setS(b, 'pkt_src_aws_service', i, !egress && r() < 0.2 ? pick(r, ['S3', 'DYNAMODB', 'EC2', 'CLOUDFRONT']) : null);
    setS(b, 'pkt_dst_aws_service', i, egress && r() < 0.2 ? pick(r, ['S3', 'DYNAMODB', 'EC2', 'AMAZON']) : null);
    setS(b, 'flow_direction', i, egress ? 'egress' : 'ingress');
    setN(b, 'traffic_path', i, egress ? pick(r, [1, 1, 1, 2, 7, 8]) : null);
    b.length++;
  }
  return b;
}

const NS = ['checkout', 'payments', 'catalog', 'kube-system', 'monitoring', 'frontend'];
const podName = (r: R, ws: string): string => `${ws}-${hex(r, 9)}-${hex(r, 5)}`;

/** GCP VPC flow log entries exported to GCS, GKE cluster, with instance, VPC, location and GKE metadata. */
export function gcpBatch(n: number, seed = 2): FlowBatch {
  const r = rng(seed);
  const b = new FlowBatch(n);
  const project = 'acme-prod-3f2a';
  const workloads = Array.from({ length: 30 }, (_, i) => ({ ns: NS[i % NS.length]!, name: `${NS[i % NS.length]}-${['api', 'worker', 'web', 'db'][i % 4]}` }));
  const pods = Array.from({ length: 300 }, () => {
    const w = pick(r, workloads);
    return { ip: `10.8.${int(r, 0, 63)}.${int(r, 2, 254)}`, name: podName(r, w.name), w, vm: `gke-prod-default-pool-${hex(r, 8)}-${hex(r, 4)}`, zone: pick(r, ['us-central1-a', 'us-central1-b', 'us-central1-c']) };
  });
  const t0 = Date.UTC(2024, 10, 26, 10, 0, 0);
  for (let i = 0; i < n; i++) {
    const p = pick(r, pods);
    const srcSide = r() < 0.5;
    const internal = r() < 0.6;
    const q = pick(r, pods);
    const remote = internal ? q.ip : publicIp(r);
    const proto = r() < 0.9 ? 6 : 17;
    const sp = srcSide ? ephemeral(r) : pick(r, SERVER_PORTS);
    const dp = srcSide ? pick(r, SERVER_PORTS) : ephemeral(r);
    const pk = packetsOf(r);
    // RFC 3339 with nanoseconds: fractional milliseconds survive in the double
    const start = t0 + int(r, 0, 3_599_000) + int(r, 0, 999_999) / 1000;
    const end = start + int(r, 0, 5000) + int(r, 0, 999) / 1000;
    setS(b, 'cloud', i, 'gcp');
    setS(b, 'format', i, 'gcp-vpc-json');
    setS(b, 'account', i, project);
    setS(b, 'src_addr', i, srcSide ? p.ip : remote);
    setS(b, 'dst_addr', i, srcSide ? remote : p.ip);
    setN(b, 'src_port', i, sp);
    setN(b, 'dst_port', i, dp);
    setN(b, 'protocol', i, proto);
    setN(b, 'packets', i, pk);
    setN(b, 'bytes', i, pk * int(r, 52, 1500));
    setN(b, 'start', i, start);
    setN(b, 'end', i, end);
    setS(b, 'direction', i, srcSide ? 'egress' : 'ingress');
    setS(b, 'reporter', i, srcSide ? 'SRC' : 'DEST');
    setN(b, 'rtt_msec', i, proto === 6 ? int(r, 0, 120) : null);
    setS(b, 'project_id', i, project);
    setS(b, 'location', i, p.zone);
    setS(b, 'subnetwork_id', i, '4613914457932019874');
    setS(b, 'subnetwork_name', i, 'gke-prod-subnet');
    setS(b, 'log_name', i, `projects/${project}/logs/compute.googleapis.com%2Fvpc_flows`);
    setS(b, 'insert_id', i, `${hex(r, 6)}f${hex(r, 7)}`);
    setN(b, 'timestamp', i, Math.floor(end) + int(r, 5000, 60000) + int(r, 0, 999_999) / 1_000_000);
    const local = srcSide ? 'src' : 'dest';
    const other = srcSide ? 'dest' : 'src';
    setS(b, `${local}_instance_project_id`, i, project);
    setS(b, `${local}_instance_region`, i, 'us-central1');
    setS(b, `${local}_instance_vm_name`, i, p.vm);
    setS(b, `${local}_instance_zone`, i, p.zone);
    setS(b, `${local}_instance_managed_instance_group_name`, i, 'gke-prod-default-pool-grp');
    setS(b, `${local}_instance_managed_instance_group_zone`, i, p.zone);
    setS(b, `${local}_vpc_project_id`, i, project);
    setS(b, `${local}_vpc_vpc_name`, i, 'prod-vpc');
    setS(b, `${local}_vpc_subnetwork_name`, i, 'gke-prod-subnet');
    setS(b, `${local}_gke_cluster_name`, i, 'prod');
    setS(b, `${local}_gke_cluster_location`, i, 'us-central1');
    setS(b, `${local}_gke_pod_name`, i, p.name);
    setS(b, `${local}_gke_pod_namespace`, i, p.w.ns);
    setS(b, `${local}_gke_workload_name`, i, p.w.name);
    setS(b, `${local}_gke_workload_type`, i, 'DEPLOYMENT');
    if (internal) {
      setS(b, `${other}_vpc_project_id`, i, project);
      setS(b, `${other}_vpc_vpc_name`, i, 'prod-vpc');
      setS(b, `${other}_vpc_subnetwork_name`, i, 'gke-prod-subnet');
      setS(b, `${other}_gke_cluster_name`, i, 'prod');
      setS(b, `${other}_gke_cluster_location`, i, 'us-central1');
      setS(b, `${other}_gke_pod_name`, i, q.name);
      setS(b, `${other}_gke_pod_namespace`, i, q.w.ns);
      setS(b, `${other}_gke_workload_name`, i, q.w.name);
      setS(b, `${other}_gke_workload_type`, i, 'DEPLOYMENT');
      if (r() < 0.5) {
        setS(b, `${other}_gke_service_name`, i, q.w.name);
        setS(b, `${other}_gke_service_namespace`, i, q.w.ns);
      }
    } else {
      setS(b, `${other}_location_continent`, i, pick(r, ['America', 'Europe', 'Asia']));
      setS(b, `${other}_location_country`, i, pick(r, ['usa', 'deu', 'jpn', 'gbr', 'fra']));
      setS(b, `${other}_location_region`, i, pick(r, ['California', 'Virginia', 'Hesse', 'Tokyo']));
      setS(b, `${other}_location_city`, i, pick(r, ['Mountain View', 'Ashburn', 'Frankfurt am Main', 'Tokyo']));
      setN(b, `${other}_location_asn`, i, pick(r, [15169, 16509, 13335, 8075, 20940]));
    }
    b.length++;
  }
  return b;
}

/** Azure VNet flow log tuples (flowLogVersion 4) from an AKS node pool's NICs. */
export function azureBatch(n: number, seed = 3): FlowBatch {
  const r = rng(seed);
  const b = new FlowBatch(n);
  const sub = '00000000-1111-2222-3333-444444444444';
  const rg = 'rg-aks-prod';
  const vnet = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/aks-vnet`;
  const fl = `/subscriptions/${sub}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope/flowLogs/aks-vnet-flowlog`;
  const guid = '66aa66aa-bb77-cc88-dd99-eeff00112233';
  const macs = Array.from({ length: 12 }, () => hex(r, 12).toUpperCase());
  const rules = ['DefaultRule_AllowInternetOutBound', 'DefaultRule_AllowVnetInBound', 'UserRule_allow-https', 'DefaultRule_DenyAllInBound'];
  const t0 = Date.UTC(2024, 10, 26, 10, 0, 0);
  let t = t0;
  for (let i = 0; i < n; i++) {
    // tuples are appended minute by minute: times mostly increase
    t += int(r, 0, 700);
    const out = r() < 0.5;
    const state = pick(r, ['B', 'C', 'C', 'E', 'D']);
    const local = `10.224.${int(r, 0, 15)}.${int(r, 4, 254)}`;
    const remote = r() < 0.5 ? `10.224.${int(r, 0, 15)}.${int(r, 4, 254)}` : publicIp(r);
    const proto = r() < 0.85 ? 6 : 17;
    const counters = state !== 'B' && state !== 'D';
    const ps = counters ? packetsOf(r) : null;
    const pd = counters ? packetsOf(r) : null;
    const bs = ps === null ? null : ps * int(r, 52, 1500);
    const bd = pd === null ? null : pd * int(r, 52, 1500);
    setS(b, 'cloud', i, 'azure');
    setS(b, 'format', i, 'azure-vnet');
    setS(b, 'account', i, sub);
    setS(b, 'src_addr', i, out ? local : remote);
    setS(b, 'dst_addr', i, out ? remote : local);
    setN(b, 'src_port', i, out ? ephemeral(r) : pick(r, SERVER_PORTS));
    setN(b, 'dst_port', i, out ? pick(r, SERVER_PORTS) : ephemeral(r));
    setN(b, 'protocol', i, proto);
    setN(b, 'packets', i, ps === null || pd === null ? null : ps + pd);
    setN(b, 'bytes', i, bs === null || bd === null ? null : bs + bd);
    setN(b, 'packets_src_to_dst', i, ps);
    setN(b, 'bytes_src_to_dst', i, bs);
    setN(b, 'packets_dst_to_src', i, pd);
    setN(b, 'bytes_dst_to_src', i, bd);
    setN(b, 'start', i, t);
    setN(b, 'end', i, t);
    setS(b, 'action', i, state === 'D' ? 'reject' : 'accept');
    setS(b, 'direction', i, out ? 'egress' : 'ingress');
    setS(b, 'subscription_id', i, sub);
    setS(b, 'resource_group', i, rg);
    setS(b, 'resource_id', i, vnet);
    setS(b, 'flow_log_resource_id', i, fl);
    setS(b, 'flow_log_guid', i, guid);
    setS(b, 'category', i, 'FlowLogFlowEvent');
    setN(b, 'flow_log_version', i, 4);
    setN(b, 'record_time', i, t0 + Math.floor((t - t0) / 60000) * 60000 + 30123);
    setS(b, 'acl_id', i, '00000000-1234-abcd-0000-000000000000');
    setS(b, 'rule', i, pick(r, rules));
    setS(b, 'mac', i, pick(r, macs));
    setS(b, 'flow_state', i, state);
    setS(b, 'encryption', i, pick(r, ['NX', 'NX', 'X', 'NX_HW_NOT_SUPPORTED']));
    b.length++;
  }
  return b;
}

export const BATCHES = { aws: awsBatch, gcp: gcpBatch, azure: azureBatch } as const;
