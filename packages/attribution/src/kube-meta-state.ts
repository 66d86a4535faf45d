import { parseProviderId, timeMs, type Envelope, type KubeMetaRecord, type KubeObject, type Placement } from '@sightline/kube-model';
import { Attributor, type AttributorOptions } from './attributor.js';
import { ClusterState } from './cluster-state.js';
import type { ClusterScope } from './scope.js';

/** A scope declared by configuration: AWS node providerIDs carry no account or VPC, so those come from here. */
export interface DeclaredScope {
  tenant: string;
  cluster: string;
  cloud?: ClusterScope['cloud'];
  accounts?: string[];
  networks?: string[];
}

interface Known {
  kind: KubeObject['kind'];
  name: string;
  namespace: string | null;
  epoch: number;
}

interface ClusterMeta {
  state: ClusterState;
  registered: boolean;
  scope: ClusterScope | null;
  declared: DeclaredScope | undefined;
  /** node uid -> placement from its providerID (null: none parsable) */
  nodes: Map<string, Placement | null>;
  /** every live object and the epoch of its latest record, for snapshot markers */
  objects: Map<string, Known>;
  /** newest `at` of any record applied for the cluster (ms) */
  watermarkMs: number;
}

interface TenantMeta {
  attributor: Attributor;
  clusters: Map<string, ClusterMeta>;
}

export interface KubeMetaStats {
  upserts: number;
  deletes: number;
  snapshots: number;
  /** objects ended by a snapshot marker because their latest record was of an older epoch */
  endedBySnapshot: number;
}

/** Upserts first ordered so owners and slices precede the pods that refer to them (workload, services). */
const RANK: Record<KubeObject['kind'], number> = {
  ReplicaSet: 0, Deployment: 0, StatefulSet: 0, DaemonSet: 0, Job: 0, CronJob: 0, EndpointSlice: 0, Node: 1, Service: 1, Pod: 2,
};

/**
 * The attribution state of every tenant, fed with kube-meta topic records one at a time (or a
 * fetch's worth at a time). Each tenant has its own Attributor, so a tenant's flows are only
 * ever looked up among that tenant's clusters. A cluster becomes a candidate once its cloud is
 * known: declared, or learnt from its nodes' providerIDs.
 */
export class KubeMetaState {
  private readonly tenants = new Map<string, TenantMeta>();
  private readonly declared = new Map<string, DeclaredScope>();
  readonly stats: KubeMetaStats = { upserts: 0, deletes: 0, snapshots: 0, endedBySnapshot: 0 };

  constructor(
    private readonly opts: AttributorOptions & { scopes?: readonly DeclaredScope[] } = {},
  ) {
    for (const s of opts.scopes ?? []) this.declared.set(`${s.tenant}/${s.cluster}`, s);
  }

  /**
   * Replaces the declared scopes (a configuration reload): a cluster already known takes its new
   * declaration at once, a new one when its metadata arrives. A declaration removed leaves the
   * cluster with what its nodes tell (a cluster whose nodes tell no cloud keeps its last scope).
   */
  setDeclaredScopes(scopes: readonly DeclaredScope[]): void {
    this.declared.clear();
    for (const s of scopes) this.declared.set(`${s.tenant}/${s.cluster}`, s);
    for (const [tenant, t] of this.tenants) {
      for (const [name, c] of t.clusters) {
        c.declared = this.declared.get(`${tenant}/${name}`);
        this.refreshScope(tenant, name, c);
      }
    }
  }

  /** The tenant's attributor; null when no metadata of that tenant was seen (its flows stay unattributed). */
  attributor(tenant: string): Attributor | null {
    return this.tenants.get(tenant)?.attributor ?? null;
  }

  /** Oldest per-cluster watermark of the tenant: metadata is known complete up to here in every cluster (ms; -Infinity: none). */
  watermarkMs(tenant: string): number {
    const t = this.tenants.get(tenant);
    if (!t || t.clusters.size === 0) return -Infinity;
    let w = Infinity;
    for (const c of t.clusters.values()) w = Math.min(w, c.watermarkMs);
    return w;
  }

  clusters(tenant: string): string[] {
    return [...(this.tenants.get(tenant)?.clusters.keys() ?? [])];
  }

  /** Drops leases that ended before `nowMs` minus the retention. */
  compact(nowMs: number = Date.now()): void {
    for (const t of this.tenants.values()) t.attributor.compact(nowMs);
  }

  /**
   * Applies records in order. Runs of upserts of one cluster are applied together, owners first,
   * so a pod upserted in the same run as its ReplicaSet gets its workload.
   */
  applyAll(records: readonly KubeMetaRecord[]): void {
    let run: Extract<KubeMetaRecord, { type: 'upsert' }>[] = [];
    const flush = () => {
      if (run.length > 0) this.applyUpserts(run);
      run = [];
    };
    for (const r of records) {
      if (r.type === 'upsert') {
        if (run.length > 0 && (run[0]!.tenant !== r.tenant || run[0]!.cluster !== r.cluster)) flush();
        run.push(r);
        continue;
      }
      flush();
      this.apply(r);
    }
    flush();
  }

  apply(r: KubeMetaRecord): void {
    if (r.type === 'upsert') return this.applyUpserts([r]);
    const c = this.cluster(r.tenant, r.cluster);
    const at = timeMs(r.at);
    if (r.type === 'delete') {
      this.stats.deletes++;
      c.state.remove({ at: r.at, kind: r.kind, uid: r.uid, namespace: r.namespace, name: r.name });
      c.objects.delete(r.uid);
      if (r.kind === 'Node' && c.nodes.delete(r.uid)) this.refreshScope(r.tenant, r.cluster, c);
    } else {
      this.stats.snapshots++;
      let nodesGone = false;
      for (const [uid, o] of c.objects) {
        if (o.epoch >= r.epoch) continue;
        c.state.remove({ at: r.at, kind: o.kind, uid, namespace: o.namespace, name: o.name });
        c.objects.delete(uid);
        if (o.kind === 'Node') nodesGone = c.nodes.delete(uid) || nodesGone;
        this.stats.endedBySnapshot++;
      }
      if (nodesGone) this.refreshScope(r.tenant, r.cluster, c);
    }
    if (at > c.watermarkMs) c.watermarkMs = at;
  }

  private applyUpserts(run: Extract<KubeMetaRecord, { type: 'upsert' }>[]): void {
    const { tenant, cluster } = run[0]!;
    const c = this.cluster(tenant, cluster);
    const sorted = [...run].sort((a, b) => RANK[a.object.kind] - RANK[b.object.kind]);
    let newest = c.watermarkMs;
    let nodesChanged = false;
    for (const u of sorted) {
      const o = u.object;
      c.objects.set(o.uid, { kind: o.kind, name: o.name, namespace: 'namespace' in o ? (o.namespace ?? null) : null, epoch: u.epoch });
      if (o.kind === 'Node') {
        c.nodes.set(o.uid, parseProviderId(o.providerID));
        nodesChanged = true;
      }
      const at = timeMs(u.at);
      if (at > newest) newest = at;
    }
    const env: Envelope = {
      cluster,
      resourceVersion: 'kube-meta',
      sentAt: sorted[sorted.length - 1]!.at,
      full: false,
      upserts: sorted.map((u) => ({ at: u.at, object: u.object })),
      deletes: [],
    };
    c.state.applyEnvelope(env);
    this.stats.upserts += run.length;
    c.watermarkMs = newest;
    if (nodesChanged) this.refreshScope(tenant, cluster, c);
  }

  private cluster(tenant: string, name: string): ClusterMeta {
    let t = this.tenants.get(tenant);
    if (!t) this.tenants.set(tenant, (t = { attributor: new Attributor(this.opts), clusters: new Map() }));
    let c = t.clusters.get(name);
    if (!c) {
      const declared = this.declared.get(`${tenant}/${name}`);
      c = {
        state: new ClusterState(name, t.attributor.endpoints, t.attributor.labelAllowList),
        registered: false,
        scope: null,
        declared,
        nodes: new Map(),
        objects: new Map(),
        watermarkMs: -Infinity,
      };
      t.clusters.set(name, c);
      this.refreshScope(tenant, name, c);
    }
    return c;
  }

  /** The cluster's scope: declared parts win, the rest comes from its nodes (cloud by majority, GCP/Azure accounts). */
  private refreshScope(tenant: string, name: string, c: ClusterMeta): void {
    const clouds = new Map<ClusterScope['cloud'], number>();
    const accounts = new Set<string>();
    for (const p of c.nodes.values()) {
      if (!p) continue;
      clouds.set(p.cloud, (clouds.get(p.cloud) ?? 0) + 1);
      if (p.account) accounts.add(p.account);
    }
    const cloud = c.declared?.cloud ?? [...clouds].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (!cloud) return;
    const scope: ClusterScope = {
      cloud,
      accounts: c.declared?.accounts && c.declared.accounts.length > 0 ? [...c.declared.accounts] : [...accounts].sort(),
      networks: [...(c.declared?.networks ?? [])],
    };
    if (c.scope && sameScope(c.scope, scope)) return;
    c.scope = scope;
    const a = this.tenants.get(tenant)!.attributor;
    if (c.registered) a.setClusterScope(name, scope);
    else {
      a.registerCluster(c.state, scope);
      c.registered = true;
    }
  }
}

function sameScope(a: ClusterScope, b: ClusterScope): boolean {
  return a.cloud === b.cloud && a.accounts.join('\u0000') === b.accounts.join('\u0000') && a.networks.join('\u0000') === b.networks.join('\u0000');
}
