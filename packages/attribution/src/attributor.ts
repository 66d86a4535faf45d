import { colIndex, type FlowBatch, type StringColumn } from '@sightline/flow';
import { formatOfRow, GENERIC_ROWS, type RowRules } from '@sightline/parsers';
import { ClusterState } from './cluster-state.js';
import { ENDPOINT_FIELDS, EndpointTable } from './endpoints.js';
import { ipv4ToUint, NONE } from './lease-index.js';
import { scopeMatches, type ClusterScope, type FlowScope } from './scope.js';

export interface AttributionStats {
  /** rows whose source (destination) end was attributed, by the index or by GKE details */
  attributedSrc: number;
  attributedDst: number;
  /** ends left null: no lease at the flow's time in any cluster of its scope, or ambiguous */
  unattributedSrc: number;
  unattributedDst: number;
  /** ends found in two or more candidate clusters at once: left null, never the first match */
  ambiguous: number;
  /** ends attributed from GCP `*_gke_details` because the index had no answer */
  gkeFallback: number;
  /** ends where the index and GCP `*_gke_details` name different pods (the index wins) */
  gkeDisagreements: number;
}

export const newAttributionStats = (): AttributionStats => ({
  attributedSrc: 0,
  attributedDst: 0,
  unattributedSrc: 0,
  unattributedDst: 0,
  ambiguous: 0,
  gkeFallback: 0,
  gkeDisagreements: 0,
});

export interface AttributorOptions {
  /** how far back leases are kept, in ms (default 24 h) */
  retentionMs?: number;
  /** pod labels written to `*_k8s_labels`; null keeps whatever the metadata carries (already allow-listed at the source) */
  labelAllowList?: readonly string[] | null;
}

export const DEFAULT_RETENTION_MS = 24 * 3600 * 1000;

/** What the batch's object says about its flows, beyond their records (the collector's batch meta). */
export interface BatchSourceScope {
  /**
   * The account the object was delivered for: for AWS the `<account>` of the S3 key
   * `AWSLogs/<account>/vpcflowlogs/...` (`BatchMeta.account`). It stands in for the record's
   * `account-id` where AWS writes `unknown`: interfaces that AWS services create (load balancers,
   * VPC endpoints, NAT gateways) are not owned by an account of the tenant, but the flow log that
   * saw them is, and their VPC is one of its VPCs.
   */
  account?: string | null;
}

/** The `account-id` AWS writes for interfaces an AWS service created (the AWS formats' scope rule uses it). */
export { AWS_UNKNOWN_ACCOUNT } from '@sightline/parsers';

interface Cluster {
  state: ClusterState;
  scope: ClusterScope;
}

const SIDES = [
  { k8s: 'src', gcp: 'src' },
  { k8s: 'dst', gcp: 'dest' },
] as const;

const C = {
  cloud: colIndex('cloud'),
  format: colIndex('format'),
  start: colIndex('start'),
  end: colIndex('end'),
};

const SIDE_COLS = SIDES.map((s) => ({
  side: s.k8s,
  out: ENDPOINT_FIELDS.map((f) => colIndex(`${s.k8s}_k8s_${f}`)),
  gkeCluster: colIndex(`${s.gcp}_gke_cluster_name`),
  gkePod: colIndex(`${s.gcp}_gke_pod_name`),
  gkeNs: colIndex(`${s.gcp}_gke_pod_namespace`),
  gkeWl: colIndex(`${s.gcp}_gke_workload_name`),
  gkeWlType: colIndex(`${s.gcp}_gke_workload_type`),
  gkeSvc: colIndex(`${s.gcp}_gke_service_name`),
  gkeSvcNs: colIndex(`${s.gcp}_gke_service_namespace`),
}));

/** GKE's workload types (DEPLOYMENT, DAEMON_SET, ...) as Kubernetes kinds. */
const GKE_KINDS: Record<string, string> = {
  DEPLOYMENT: 'Deployment',
  DAEMON_SET: 'DaemonSet',
  DAEMONSET: 'DaemonSet',
  STATEFUL_SET: 'StatefulSet',
  STATEFULSET: 'StatefulSet',
  REPLICA_SET: 'ReplicaSet',
  REPLICASET: 'ReplicaSet',
  JOB: 'Job',
  CRON_JOB: 'CronJob',
  CRONJOB: 'CronJob',
};

/**
 * Attributes both ends of flows to Kubernetes endpoints across the clusters of a tenant.
 * The rules, each tested in attributor.test.ts:
 * 1. scope first: only clusters whose scope matches the flow side's account and network are
 *    looked at; an address found in two of them at once is ambiguous and stays null. Which
 *    account and network a side has, its format's spec in the parsers' registry says (AWS VPC:
 *    the record's account and VPC; Transit Gateway: each side's own VPC and account; GCP: each
 *    side's VPC; Azure: the subscription and VNet);
 * 2. which address of a side is looked up, the spec says too (AWS VPC prefers `pkt-srcaddr`/
 *    `pkt-dstaddr` over `srcaddr`/`dstaddr` when present);
 * 3. the lease is picked at the flow's own time (midpoint of [start, end], else any overlap);
 * 4. GCP `*_gke_details` fill an end the index has no answer for; disagreements are counted;
 * 5. anything else stays null and is counted;
 * 6. an AWS record whose `account-id` is `unknown` (an AWS service's interface) is scoped by the
 *    object's account (`source.account`) and its own `vpc-id`; without the object's account it
 *    matches no account-scoped cluster, as before (never widened to every account).
 */
export class Attributor {
  readonly endpoints = new EndpointTable();
  private readonly clusters: Cluster[] = [];
  private readonly candidatesCache = new Map<string, ClusterState[]>();
  readonly retentionMs: number;
  readonly labelAllowList: readonly string[] | null;

  constructor(opts: AttributorOptions = {}) {
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.labelAllowList = opts.labelAllowList ?? null;
  }

  addCluster(name: string, scope: ClusterScope): ClusterState {
    if (this.clusters.some((c) => c.state.name === name)) throw new Error(`cluster "${name}" is already registered`);
    const state = new ClusterState(name, this.endpoints, this.labelAllowList);
    this.clusters.push({ state, scope });
    this.candidatesCache.clear();
    return state;
  }

  /**
   * Registers a cluster state built elsewhere (on `this.endpoints`): a consumer of kube-meta records
   * starts applying a cluster's objects before it knows its cloud, and registers it once it does.
   */
  registerCluster(state: ClusterState, scope: ClusterScope): void {
    if (this.clusters.some((c) => c.state.name === state.name)) throw new Error(`cluster "${state.name}" is already registered`);
    this.clusters.push({ state, scope });
    this.candidatesCache.clear();
  }

  /** Replaces the scope of a registered cluster (its nodes revealed another account). */
  setClusterScope(name: string, scope: ClusterScope): void {
    const c = this.clusters.find((x) => x.state.name === name);
    if (!c) throw new Error(`cluster "${name}" is not registered`);
    c.scope = scope;
    this.candidatesCache.clear();
  }

  cluster(name: string): ClusterState | undefined {
    return this.clusters.find((c) => c.state.name === name)?.state;
  }

  /** Drops leases older than the retention, measured back from `nowMs`. */
  compact(nowMs: number = Date.now()): void {
    for (const c of this.clusters) c.state.compact(nowMs - this.retentionMs);
  }

  candidates(flow: FlowScope): ClusterState[] {
    const key = `${flow.cloud}\u0000${flow.account ?? ''}\u0000${flow.network ?? ''}`;
    let c = this.candidatesCache.get(key);
    if (!c) {
      c = this.clusters.filter((x) => scopeMatches(x.scope, flow)).map((x) => x.state);
      this.candidatesCache.set(key, c);
    }
    return c;
  }

  /** Endpoint id of `ip` over [startMs, endMs] among the candidates; NONE when absent, -2 when ambiguous. */
  lookup(candidates: readonly ClusterState[], ip: string, startMs: number, endMs: number): number {
    if (candidates.length === 0) return NONE;
    // the address is parsed once for every candidate cluster (IPv6 stays a string key)
    const v4 = ipv4ToUint(ip);
    let found = NONE;
    for (let i = 0; i < candidates.length; i++) {
      const index = candidates[i]!.index;
      const id = v4 >= 0 ? index.lookupV4(v4, startMs, endMs) : index.lookup(ip, startMs, endMs);
      if (id === NONE) continue;
      if (found !== NONE && found !== id) return AMBIGUOUS;
      found = id;
    }
    return found;
  }

  /**
   * Fills the `src_k8s_*` and `dst_k8s_*` columns of every row and adds to `stats`. `source` is
   * what the batch's object says (its account); pass it whenever it is known.
   */
  attributeBatch(batch: FlowBatch, stats: AttributionStats = newAttributionStats(), source: BatchSourceScope = {}): AttributionStats {
    const n = batch.length;
    const cloudCol = batch.columns[C.cloud] as StringColumn | undefined;
    const formatCol = batch.columns[C.format] as StringColumn | undefined;
    const start = batch.columns[C.start] as Float64Array | undefined;
    const end = batch.columns[C.end] as Float64Array | undefined;
    const cols = this.endpoints.columns;
    const objectAccount = source.account ?? null;
    for (let s = 0; s < SIDES.length; s++) {
      const sc = SIDE_COLS[s]!;
      const side = sc.side;
      const out = sc.out.map((i) => batch.strings(i));
      // a batch comes from one object: its rows share a format, whose rules are looked up once per change
      let lastFormat: string | null | undefined;
      let lastCloud: string | null | undefined;
      let rules: RowRules = GENERIC_ROWS;
      let addrCols: (StringColumn | undefined)[] = [];
      // rows of a batch share their scope (one object, one account and network) nearly always:
      // the candidate clusters of the previous row are reused while the scope is the same
      let last: FlowScope | null = null;
      let lastCands: ClusterState[] = [];
      for (let r = 0; r < n; r++) {
        const cloud = cloudCol?.[r] ?? null;
        const format = formatCol?.[r] ?? null;
        if (format !== lastFormat || cloud !== lastCloud) {
          lastFormat = format;
          lastCloud = cloud;
          rules = formatOfRow(format, cloud) ?? GENERIC_ROWS;
          addrCols = rules.addrColumns[side].map((c) => batch.columns[c] as StringColumn | undefined);
        }
        let addr: string | null = null;
        for (let a = 0; a < addrCols.length && addr === null; a++) addr = addrCols[a]?.[r] ?? null;
        let id = NONE;
        if (cloud !== null && addr !== null) {
          const own = rules.scope(batch, r, side, objectAccount);
          if (last === null || cloud !== last.cloud || own.account !== last.account || own.network !== last.network) {
            last = { cloud, account: own.account, network: own.network };
            lastCands = this.candidates(last);
          }
          const cands = lastCands;
          id = this.lookup(cands, addr, start?.[r] ?? NaN, end?.[r] ?? NaN);
          if (id === AMBIGUOUS) {
            stats.ambiguous++;
            id = NONE;
          }
        }
        // only GCP records carry GKE details; on other rows these columns are null
        const gkePod = strAt(batch, sc.gkePod, r);
        if (id !== NONE) {
          for (let f = 0; f < out.length; f++) out[f]![r] = cols[f]![id] ?? null;
          if (gkePod !== null && (gkePod !== cols[POD]![id] || strAt(batch, sc.gkeNs, r) !== cols[NAMESPACE]![id])) stats.gkeDisagreements++;
        } else if (this.fromGke(batch, r, sc, out)) {
          stats.gkeFallback++;
        } else {
          for (let f = 0; f < out.length; f++) out[f]![r] = null;
          if (s === 0) stats.unattributedSrc++;
          else stats.unattributedDst++;
          continue;
        }
        if (s === 0) stats.attributedSrc++;
        else stats.attributedDst++;
      }
    }
    return stats;
  }

  /** GCP's own view of a GKE end, used only when the index has none. */
  private fromGke(batch: FlowBatch, r: number, sc: (typeof SIDE_COLS)[number], out: StringColumn[]): boolean {
    const pod = strAt(batch, sc.gkePod, r);
    const svc = strAt(batch, sc.gkeSvc, r);
    if (pod === null && svc === null) return false;
    const type = strAt(batch, sc.gkeWlType, r);
    const v: Record<(typeof ENDPOINT_FIELDS)[number], string | null> = {
      kind: pod !== null ? 'pod' : 'service',
      cluster: strAt(batch, sc.gkeCluster, r),
      namespace: pod !== null ? strAt(batch, sc.gkeNs, r) : strAt(batch, sc.gkeSvcNs, r),
      pod,
      node: null,
      workload: strAt(batch, sc.gkeWl, r),
      workload_kind: type === null ? null : (GKE_KINDS[type] ?? type),
      service: svc,
      zone: null,
      labels: null,
    };
    ENDPOINT_FIELDS.forEach((f, i) => (out[i]![r] = v[f]));
    return true;
  }
}

const AMBIGUOUS = -2;
const POD = ENDPOINT_FIELDS.indexOf('pod');
const NAMESPACE = ENDPOINT_FIELDS.indexOf('namespace');

function strAt(batch: FlowBatch, col: number, r: number): string | null {
  const c = batch.columns[col];
  if (c === undefined || c instanceof Float64Array) return null;
  return c[r] ?? null;
}
