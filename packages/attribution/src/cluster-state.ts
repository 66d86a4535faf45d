import {
  objectInterval,
  podInterval,
  timeMs,
  type Delete,
  type EndpointSlice,
  type Envelope,
  type KubeNode,
  type KubeObject,
  type Owner,
  type Pod,
  type Service,
} from '@sightline/kube-model';
import { EndpointTable, type Endpoint } from './endpoints.js';
import { LeaseIndex, NONE } from './lease-index.js';
import { resolveWorkload } from './workload.js';

/** The leases one object opened, so a later delta can end them. */
interface Held {
  endpoint: number;
  ips: string[];
  leases: number[];
  /** the object is gone (deleted, or missing from a full snapshot): forget it once its leases are compacted away */
  gone: boolean;
}

/**
 * The metadata of one cluster and the lease index built from it. Objects come as a point-in-time
 * dump (kubectl) or as kubetags envelopes (a full snapshot, then deltas with event times).
 * Pod leases follow pod lifetimes: start time to finish/deletion, IP changes end one lease and
 * start another. hostNetwork pods get no lease: their address is the node's, and the node's
 * lease attributes it to the node.
 */
export class ClusterState {
  readonly index = new LeaseIndex();
  private readonly pods = new Map<string, Pod>();
  private readonly nodes = new Map<string, KubeNode>();
  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, EndpointSlice>();
  private readonly owners = new Map<string, Owner>();
  private readonly held = new Map<string, Held>();
  /** pod uid -> names of the services whose EndpointSlices list it */
  private servicesOfPod = new Map<string, string[]>();

  constructor(
    readonly name: string,
    private readonly endpoints: EndpointTable,
    private readonly labelAllowList: readonly string[] | null = null,
  ) {}

  /** Loads a point-in-time set of objects (kubectl dump, or the upserts of a full snapshot). */
  load(objects: readonly KubeObject[], atMs: number = Date.now()): void {
    // owners and slices first: pod endpoints are described with their workload and services
    const rank = (o: KubeObject) => (o.kind === 'Pod' ? 3 : o.kind === 'Node' || o.kind === 'Service' ? 2 : 1);
    const sorted = [...objects].sort((a, b) => rank(a) - rank(b));
    for (const o of sorted) if (o.kind !== 'Pod' && o.kind !== 'Node' && o.kind !== 'Service') this.remember(o);
    this.rebuildServiceMembership();
    for (const o of sorted) if (o.kind === 'Pod' || o.kind === 'Node' || o.kind === 'Service') this.upsert(o, atMs);
  }

  applyEnvelope(env: Envelope): void {
    const sent = timeMs(env.sentAt);
    if (env.full) {
      const present = new Set(env.upserts.map((u) => u.object.uid));
      for (const [uid, h] of this.held) if (!present.has(uid) && !h.gone) this.endHeld(uid, sent);
      for (const m of [this.pods, this.nodes, this.services, this.slices, this.owners] as Map<string, KubeObject>[]) {
        for (const [key, o] of m) if (!present.has(o.uid)) m.delete(key);
      }
      this.load(
        env.upserts.map((u) => u.object),
        sent,
      );
      return;
    }
    for (const u of env.upserts) {
      const o = u.object;
      if (o.kind === 'Pod' || o.kind === 'Node' || o.kind === 'Service') this.upsert(o, timeMs(u.at));
      else {
        this.remember(o);
        if (o.kind === 'EndpointSlice') this.refreshPodsAfterSliceChange();
      }
    }
    for (const d of env.deletes) this.remove(d);
  }

  remove(d: Delete): void {
    const at = timeMs(d.at);
    switch (d.kind) {
      case 'Pod':
        this.pods.delete(d.uid);
        break;
      case 'Node':
        this.nodes.delete(d.name);
        break;
      case 'Service':
        this.services.delete(d.uid);
        break;
      case 'EndpointSlice':
        this.slices.delete(d.uid);
        this.refreshPodsAfterSliceChange();
        return;
      default:
        this.owners.delete(d.uid);
        return;
    }
    this.endHeld(d.uid, at);
  }

  /**
   * Drops leases that ended before the cutoff (the retention, 24 h by default in the
   * attributor) and forgets objects that are gone and hold no lease any more.
   */
  compact(cutoffMs: number): void {
    const remap = this.index.compact(cutoffMs);
    for (const [uid, h] of this.held) {
      const kept: number[] = [];
      const ips: string[] = [];
      h.leases.forEach((l, i) => {
        const n = remap[l] ?? NONE;
        if (n !== NONE) {
          kept.push(n);
          ips.push(h.ips[i]!);
        }
      });
      h.leases = kept;
      h.ips = ips;
      if (kept.length === 0 && h.gone) {
        this.endpoints.release(h.endpoint);
        this.held.delete(uid);
      }
    }
  }

  private remember(o: KubeObject): void {
    if (o.kind === 'EndpointSlice') this.slices.set(o.uid, o);
    else if (o.kind !== 'Pod' && o.kind !== 'Node' && o.kind !== 'Service') this.owners.set(o.uid, o);
  }

  private upsert(o: Pod | KubeNode | Service, atMs: number): void {
    let endpoint: Endpoint | null;
    let ips: string[];
    let interval: { start: number; end: number } | null;
    if (o.kind === 'Pod') {
      this.pods.set(o.uid, o);
      interval = podInterval(o);
      ips = o.podIPs;
      endpoint = this.describePod(o);
    } else if (o.kind === 'Node') {
      this.nodes.set(o.name, o);
      interval = objectInterval(o);
      ips = o.addresses.map((a) => a.address);
      endpoint = { kind: 'node', cluster: this.name, namespace: null, pod: null, node: o.name, workload: null, workload_kind: null, service: null, zone: o.zone, labels: null };
    } else {
      this.services.set(o.uid, o);
      interval = o.type === 'ExternalName' ? null : objectInterval(o);
      ips = [...o.clusterIPs, ...o.externalIPs, ...o.loadBalancerIPs];
      endpoint = { kind: 'service', cluster: this.name, namespace: o.namespace, pod: null, node: null, workload: null, workload_kind: null, service: o.name, zone: null, labels: null };
    }
    const prev = this.held.get(o.uid);
    if (interval === null || ips.length === 0) {
      // a pod that lost its IP (or never had one): whatever it held ends now
      if (prev && !prev.gone) this.endHeld(o.uid, atMs);
      return;
    }
    if (prev && !prev.gone && sameSet(prev.ips, ips)) {
      this.endpoints.update(prev.endpoint, endpoint);
      if (interval.end !== Infinity) this.endLeases(prev, interval.end);
      return;
    }
    let start = interval.start;
    if (prev && !prev.gone) {
      // the IP changed: the old lease ends and the new one starts at the event time
      this.endLeases(prev, atMs);
      start = Math.max(start, atMs);
    }
    const id = prev ? prev.endpoint : this.endpoints.add(endpoint);
    if (prev) this.endpoints.update(id, endpoint);
    const h: Held = prev ?? { endpoint: id, ips: [], leases: [], gone: false };
    h.gone = false;
    for (const ip of ips) {
      const l = this.index.add(ip, start, interval.end, id);
      if (l === NONE) continue;
      h.ips.push(ip);
      h.leases.push(l);
    }
    this.held.set(o.uid, h);
  }

  private endHeld(uid: string, atMs: number): void {
    const h = this.held.get(uid);
    if (!h) return;
    this.endLeases(h, atMs);
    h.gone = true;
  }

  /** Ends the leases of `h` still open at `atMs`. */
  private endLeases(h: Held, atMs: number): void {
    h.leases.forEach((l, i) => {
      if (this.index.isOpen(l)) this.index.setEnd(h.ips[i]!, l, atMs);
    });
  }

  private describePod(p: Pod): Endpoint {
    const wl = resolveWorkload(p.ownerReferences, this.owners);
    const node = p.node ? this.nodes.get(p.node) : undefined;
    const svcs = this.servicesOfPod.get(p.uid);
    return {
      kind: 'pod',
      cluster: this.name,
      namespace: p.namespace,
      pod: p.name,
      node: p.node,
      workload: wl?.name ?? null,
      workload_kind: wl?.kind ?? null,
      service: svcs && svcs.length > 0 ? svcs.join(',') : null,
      zone: node?.zone ?? null,
      labels: this.labelsJson(p.labels),
    };
  }

  private labelsJson(labels: Readonly<Record<string, string>>): string | null {
    const keys = Object.keys(labels)
      .filter((k) => this.labelAllowList === null || this.labelAllowList.includes(k))
      .sort();
    if (keys.length === 0) return null;
    const out: Record<string, string> = {};
    for (const k of keys) out[k] = labels[k]!;
    return JSON.stringify(out);
  }

  private rebuildServiceMembership(): void {
    const m = new Map<string, Set<string>>();
    for (const s of this.slices.values()) {
      if (!s.service) continue;
      for (const e of s.endpoints) {
        if (!e.podUid) continue;
        let set = m.get(e.podUid);
        if (!set) m.set(e.podUid, (set = new Set()));
        set.add(s.service);
      }
    }
    this.servicesOfPod = new Map([...m].map(([k, v]) => [k, [...v].sort()]));
  }

  private refreshPodsAfterSliceChange(): void {
    this.rebuildServiceMembership();
    for (const p of this.pods.values()) {
      const h = this.held.get(p.uid);
      if (h && !h.gone) this.endpoints.update(h.endpoint, this.describePod(p));
    }
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
