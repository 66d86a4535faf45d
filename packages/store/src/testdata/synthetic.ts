import { colIndex, FlowBatch } from '@sightline/flow';
import { rng } from '@sightline/testkit';

/**
 * Seeded enriched flows for volume tests and the benchmark: an EKS cluster's pods talking to
 * each other and out, with the value shapes the enricher writes (a few dozen workloads, well-known
 * server ports (a quarter of the records replies, from the server's port to an ephemeral one), heavy-tailed counters, some unattributed ends, times spread over the window).
 */

const NAMESPACES = ['shop', 'payments', 'search', 'kube-system', 'monitoring', 'ingress'];
export const WORKLOADS: readonly { ns: string; name: string; kind: string }[] = Array.from({ length: 48 }, (_, i) => ({
  ns: NAMESPACES[i % NAMESPACES.length]!,
  name: `svc-${String(i).padStart(2, '0')}`,
  kind: i % 7 === 0 ? 'StatefulSet' : i % 11 === 0 ? 'DaemonSet' : 'Deployment',
}));
const PORTS = [443, 443, 443, 80, 53, 8080, 5432, 6379, 9092, 3306, 10250, 8443, 9090];

/** `n` flows with start times uniform in [t0, t0 + spanMs). */
export function enrichedBatch(n: number, seed: number, t0: number, spanMs: number): FlowBatch {
  const r = rng(seed);
  const b = new FlowBatch(n);
  const S = (name: string) => b.strings(colIndex(name));
  const N = (name: string) => b.numbers(colIndex(name));
  const [cloud, format, account, srcAddr, dstAddr, action, direction, iface] = [
    S('cloud'), S('format'), S('account'), S('src_addr'), S('dst_addr'), S('action'), S('direction'), S('interface_id'),
  ];
  const [srcPort, dstPort, proto, packets, bytes, start, end, version] = [
    N('src_port'), N('dst_port'), N('protocol'), N('packets'), N('bytes'), N('start'), N('end'), N('version'),
  ];
  const side = (p: 'src' | 'dst') => ({
    kind: S(`${p}_k8s_kind`), cluster: S(`${p}_k8s_cluster`), ns: S(`${p}_k8s_namespace`), pod: S(`${p}_k8s_pod`),
    node: S(`${p}_k8s_node`), wl: S(`${p}_k8s_workload`), wlk: S(`${p}_k8s_workload_kind`), svc: S(`${p}_k8s_service`), zone: S(`${p}_k8s_zone`),
  });
  const ends = { src: side('src'), dst: side('dst') };
  for (let i = 0; i < n; i++) {
    cloud[i] = 'aws';
    format[i] = 'aws-vpc-text';
    account[i] = '123456789012';
    iface[i] = `eni-0${(Math.floor(r() * 40) + 0x1000).toString(16)}abcdef0123`;
    srcAddr[i] = `10.0.${64 + Math.floor(r() * 64)}.${1 + Math.floor(r() * 254)}`;
    dstAddr[i] = `10.0.${64 + Math.floor(r() * 64)}.${1 + Math.floor(r() * 254)}`;
    srcPort[i] = 32768 + Math.floor(r() * 28000);
    dstPort[i] = PORTS[Math.floor(r() * PORTS.length)]!;
    proto[i] = dstPort[i] === 53 ? 17 : 6;
    // every fourth record is a reply (server to client: the ephemeral port is the destination), and
    // a few carry no ports (ICMP): the rollups' service port must fold both directions onto one port
    // (no draw of the generator is added, so every other value stays what it was)
    if (i % 4 === 3) [srcPort[i], dstPort[i]] = [dstPort[i]!, srcPort[i]!];
    if (i % 97 === 5) {
      srcPort[i] = NaN;
      dstPort[i] = NaN;
      proto[i] = 1;
    }
    const pk = Math.max(1, Math.floor(Math.exp(r() * r() * 12)));
    packets[i] = pk;
    bytes[i] = pk * (40 + Math.floor(r() * 1400));
    const s = t0 + Math.floor(r() * spanMs);
    start[i] = s - (s % 1000);
    end[i] = start[i]! + 60_000;
    version[i] = 5;
    action[i] = r() < 0.97 ? 'accept' : 'reject';
    direction[i] = r() < 0.5 ? 'ingress' : 'egress';
    for (const p of ['src', 'dst'] as const) {
      const e = ends[p];
      if (r() < 0.1) continue; // unattributed end stays null
      // skewed: low-numbered workloads carry most traffic, so a top-10 is meaningful
      const w = WORKLOADS[Math.floor(r() * r() * WORKLOADS.length)]!;
      e.kind[i] = 'pod';
      e.cluster[i] = 'eks-prod';
      e.ns[i] = w.ns;
      e.wl[i] = w.name;
      e.wlk[i] = w.kind;
      e.pod[i] = `${w.name}-7d9f8b6c5-${Math.floor(r() * 1e6).toString(36)}`;
      e.node[i] = `ip-10-0-${Math.floor(r() * 4)}-${Math.floor(r() * 30)}.ec2.internal`;
      e.svc[i] = w.name;
      e.zone[i] = `us-east-1${'abc'[Math.floor(r() * 3)]}`;
    }
  }
  b.length = n;
  return b;
}
