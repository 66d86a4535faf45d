import { z } from 'zod';
import { KubeObjectSchema, OWNER_KINDS, type KubeObject, type OwnerKind } from './objects.js';

/**
 * Converts what `kubectl get nodes,pods,services,endpointslices,replicasets,deployments,
 * statefulsets,daemonsets,jobs,cronjobs -A -o json` prints into the reduced objects: the same
 * objects kubetags sends, so the CLI and the enricher share one attribution path.
 */

const Meta = z.looseObject({
  uid: z.string().min(1),
  name: z.string().min(1),
  namespace: z.string().optional(),
  creationTimestamp: z.string(),
  deletionTimestamp: z.string().nullish(),
  labels: z.record(z.string(), z.string()).nullish(),
  ownerReferences: z.array(z.looseObject({ kind: z.string(), name: z.string(), uid: z.string(), controller: z.boolean().optional() })).nullish(),
});

const Item = z.looseObject({
  kind: z.string(),
  metadata: Meta,
  spec: z.record(z.string(), z.unknown()).nullish(),
  status: z.record(z.string(), z.unknown()).nullish(),
});

const ListSchema = z.looseObject({
  kind: z.literal('List', { message: 'expected a kubectl List (kubectl get ... -o json)' }),
  items: z.array(z.unknown()),
});

const PodSpec = z.looseObject({ nodeName: z.string().nullish(), hostNetwork: z.boolean().nullish() });
const Terminated = z.looseObject({ finishedAt: z.string().nullish() });
const ContainerStatus = z.looseObject({ state: z.looseObject({ terminated: Terminated.nullish() }).nullish() });
const PodStatus = z.looseObject({
  phase: z.string().nullish(),
  podIP: z.string().nullish(),
  podIPs: z.array(z.looseObject({ ip: z.string() })).nullish(),
  startTime: z.string().nullish(),
  containerStatuses: z.array(ContainerStatus).nullish(),
});
const NodeStatus = z.looseObject({ addresses: z.array(z.looseObject({ type: z.string(), address: z.string() })).nullish() });
const NodeSpec = z.looseObject({ providerID: z.string().nullish() });
const ServiceSpec = z.looseObject({
  type: z.string().nullish(),
  clusterIP: z.string().nullish(),
  clusterIPs: z.array(z.string()).nullish(),
  externalIPs: z.array(z.string()).nullish(),
});
const ServiceStatus = z.looseObject({
  loadBalancer: z.looseObject({ ingress: z.array(z.looseObject({ ip: z.string().nullish() })).nullish() }).nullish(),
});
const SliceItem = z.looseObject({
  endpoints: z
    .array(z.looseObject({ addresses: z.array(z.string()), targetRef: z.looseObject({ kind: z.string().nullish(), uid: z.string().nullish() }).nullish() }))
    .nullish(),
});

/**
 * The pod labels kept when nothing says otherwise: the recommended app labels that name what a
 * pod is. The one default of kubetags (its `labelAllowList`) and of the embedded mode's kubectl
 * dumps, so both modes store the same `*_k8s_labels`.
 */
export const DEFAULT_LABEL_ALLOW_LIST: readonly string[] = ['app', 'app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component'];

export interface KubectlOptions {
  /** file name, used in every message */
  source: string;
  /** pod labels kept (everything else is dropped at the boundary) */
  labelAllowList?: readonly string[];
}

export interface KubectlDump {
  objects: KubeObject[];
  /** items of kinds attribution does not use, by kind */
  skipped: Record<string, number>;
}

export class KubectlDumpError extends Error {
  constructor(source: string, where: string, message: string) {
    super(`${source}${where}: ${message}`);
    this.name = 'KubectlDumpError';
  }
}

export function fromKubectlList(json: unknown, opts: KubectlOptions): KubectlDump {
  const list = ListSchema.safeParse(json);
  if (!list.success) throw new KubectlDumpError(opts.source, '', list.error.issues.map((i) => i.message).join('; '));
  const allow = new Set(opts.labelAllowList ?? []);
  const objects: KubeObject[] = [];
  const skipped: Record<string, number> = {};
  list.data.items.forEach((raw, i) => {
    const item = Item.safeParse(raw);
    if (!item.success) throw new KubectlDumpError(opts.source, ` items[${i}]`, describe(item.error));
    const it = item.data;
    const where = ` items[${i}] (${it.kind} ${it.metadata.namespace ? it.metadata.namespace + '/' : ''}${it.metadata.name})`;
    const draft = convert(it, allow);
    if (draft === null) {
      skipped[it.kind] = (skipped[it.kind] ?? 0) + 1;
      return;
    }
    const obj = KubeObjectSchema.safeParse(draft);
    if (!obj.success) throw new KubectlDumpError(opts.source, where, describe(obj.error));
    objects.push(obj.data);
  });
  return { objects, skipped };
}

function describe(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; ');
}

type ItemT = z.infer<typeof Item>;

/** Why one API object could not be reduced: what was wrong, by field path. */
export class ReduceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReduceError';
  }
}

/**
 * Reduces one API object (JSON as the API server sends it, `kind` set) to the model; null for
 * kinds attribution does not use. Throws ReduceError naming the object and the bad fields.
 */
export function reduceItem(raw: unknown, labelAllowList: ReadonlySet<string>): KubeObject | null {
  const item = Item.safeParse(raw);
  if (!item.success) throw new ReduceError(describe(item.error));
  const it = item.data;
  const draft = convert(it, labelAllowList);
  if (draft === null) return null;
  const obj = KubeObjectSchema.safeParse(draft);
  if (!obj.success) throw new ReduceError(`${it.kind} ${it.metadata.namespace ? it.metadata.namespace + '/' : ''}${it.metadata.name}: ${describe(obj.error)}`);
  return obj.data;
}

function base(it: ItemT) {
  return {
    uid: it.metadata.uid,
    name: it.metadata.name,
    createdAt: it.metadata.creationTimestamp,
    deletedAt: it.metadata.deletionTimestamp ?? null,
  };
}

function owners(it: ItemT) {
  return (it.metadata.ownerReferences ?? []).map((o) => ({ kind: o.kind, name: o.name, uid: o.uid, ...(o.controller !== undefined ? { controller: o.controller } : {}) }));
}

function convert(it: ItemT, allow: ReadonlySet<string>): unknown {
  const ns = it.metadata.namespace;
  switch (it.kind) {
    case 'Pod': {
      const spec = PodSpec.parse(it.spec ?? {});
      const st = PodStatus.parse(it.status ?? {});
      const ips = st.podIPs?.map((p) => p.ip) ?? (st.podIP ? [st.podIP] : []);
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(it.metadata.labels ?? {})) if (allow.has(k)) labels[k] = v;
      return {
        kind: 'Pod',
        ...base(it),
        namespace: ns,
        node: spec.nodeName ?? null,
        podIPs: ips,
        hostNetwork: spec.hostNetwork ?? false,
        phase: st.phase ?? 'Unknown',
        labels,
        ownerReferences: owners(it),
        startTime: st.startTime ?? null,
        finishedAt: finishedAt(st.containerStatuses ?? []),
      };
    }
    case 'Node': {
      const labels = it.metadata.labels ?? {};
      const addrs = NodeStatus.parse(it.status ?? {}).addresses ?? [];
      return {
        kind: 'Node',
        ...base(it),
        addresses: addrs.filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => ({ type: a.type as 'InternalIP' | 'ExternalIP', address: a.address })),
        providerID: NodeSpec.parse(it.spec ?? {}).providerID ?? null,
        zone: labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone'] ?? null,
        region: labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region'] ?? null,
      };
    }
    case 'Service': {
      const spec = ServiceSpec.parse(it.spec ?? {});
      const st = ServiceStatus.parse(it.status ?? {});
      const cips = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((a) => a !== 'None' && a !== '');
      return {
        kind: 'Service',
        ...base(it),
        namespace: ns,
        type: spec.type ?? 'ClusterIP',
        clusterIPs: cips,
        externalIPs: spec.externalIPs ?? [],
        loadBalancerIPs: (st.loadBalancer?.ingress ?? []).flatMap((g) => (g.ip ? [g.ip] : [])),
      };
    }
    case 'EndpointSlice': {
      const s = SliceItem.parse(it);
      return {
        kind: 'EndpointSlice',
        ...base(it),
        namespace: ns,
        service: it.metadata.labels?.['kubernetes.io/service-name'] ?? null,
        endpoints: (s.endpoints ?? []).map((e) => ({ addresses: e.addresses, podUid: e.targetRef?.kind === 'Pod' ? (e.targetRef.uid ?? null) : null })),
      };
    }
    default:
      if ((OWNER_KINDS as readonly string[]).includes(it.kind)) {
        return { kind: it.kind as OwnerKind, ...base(it), namespace: ns, ownerReferences: owners(it) };
      }
      return null;
  }
}

/** Latest container finish time, only when every container has terminated (a running sidecar still holds the IP). */
function finishedAt(statuses: readonly z.infer<typeof ContainerStatus>[]): string | null {
  if (statuses.length === 0) return null;
  let latest: string | null = null;
  let latestMs = -Infinity;
  for (const s of statuses) {
    const t = s.state?.terminated?.finishedAt;
    if (!t) return null;
    const ms = Date.parse(t);
    if (ms > latestMs) {
      latestMs = ms;
      latest = t;
    }
  }
  return latest;
}
