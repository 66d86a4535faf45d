import type { Api, ApiFilter, Scalar } from './api.js';

/**
 * The service map's data: workloads (and the internet and unattributed peers) as nodes, their
 * traffic as directed edges. `loadGraph` asks the API's graph route when it has one, else builds
 * the same from two top-N queries.
 */
export type NodeKind = 'workload' | 'internet' | 'unattributed';
export interface MapNode {
  id: string;
  kind: NodeKind;
  cluster: string | null;
  namespace: string | null;
  workload: string | null;
  /** the label shown on the map */
  label: string;
}
export interface MapEdge {
  source: string;
  target: string;
  value: number;
}
export interface MapData {
  metric: string;
  nodes: MapNode[];
  edges: MapEdge[];
  /** more edges than asked for: the lightest are not shown */
  truncated?: boolean;
  /** the table that answered */
  rollup?: string;
}

export const INTERNET = 'internet';
export const UNATTRIBUTED = 'unattributed';

export function nodeId(cluster: Scalar | undefined, namespace: Scalar | undefined, workload: Scalar | undefined): string {
  if (cluster === null || cluster === undefined || workload === null || workload === undefined) return UNATTRIBUTED;
  return `${cluster}/${namespace ?? ''}/${workload}`;
}

export function workloadNode(cluster: string, namespace: string | null, workload: string): MapNode {
  return { id: nodeId(cluster, namespace, workload), kind: 'workload', cluster, namespace, workload, label: `${namespace ?? '?'}/${workload}` };
}
export function specialNode(kind: 'internet' | 'unattributed'): MapNode {
  return { id: kind, kind, cluster: null, namespace: null, workload: null, label: kind === 'internet' ? 'internet' : 'unattributed' };
}

/** Edges of one direction summed by their ends (two keys may map to one unattributed node). */
export function collect(rows: { src: MapNode; dst: MapNode; value: number }[], metric: string): MapData {
  const nodes = new Map<string, MapNode>();
  const edges = new Map<string, MapEdge>();
  for (const r of rows) {
    nodes.set(r.src.id, r.src);
    nodes.set(r.dst.id, r.dst);
    const k = `${r.src.id}\u0000${r.dst.id}`;
    const e = edges.get(k);
    if (e) e.value += r.value;
    else edges.set(k, { source: r.src.id, target: r.dst.id, value: r.value });
  }
  return { metric, nodes: [...nodes.values()], edges: [...edges.values()] };
}

function endOf(k: Record<string, Scalar>, side: 'src' | 'dst', ns: Map<string, string>): MapNode {
  const cluster = k[`${side}_cluster`];
  const workload = k[`${side}_workload`];
  if (cluster === null || cluster === undefined || workload === null || workload === undefined) {
    const addrClass = k[`${side}_addr_class`] ?? k[`${side}_scope`];
    return specialNode(addrClass === 'public' || addrClass === 'internet' ? 'internet' : 'unattributed');
  }
  const namespace = (k[`${side}_namespace`] as string | null | undefined) ?? ns.get(`${cluster}/${workload}`) ?? null;
  return workloadNode(String(cluster), namespace, String(workload));
}

/**
 * From top-N (the API of the day, at most 4 dimensions a query): the edges by cluster and workload,
 * and each workload's namespace from a second query.
 */
export async function loadGraphFromTopN(api: Api, q: { from: number; to: number; metric: string; filters: ApiFilter[]; limit: number }, signal?: AbortSignal): Promise<MapData> {
  const [edges, srcNs, dstNs] = await Promise.all([
    api.topN({ ...q, dimensions: ['src_cluster', 'src_workload', 'dst_cluster', 'dst_workload'] }, signal),
    api.topN({ ...q, dimensions: ['src_cluster', 'src_namespace', 'src_workload'], limit: 1000 }, signal),
    api.topN({ ...q, dimensions: ['dst_cluster', 'dst_namespace', 'dst_workload'], limit: 1000 }, signal),
  ]);
  const ns = new Map<string, string>();
  for (const [a, side] of [[srcNs, 'src'], [dstNs, 'dst']] as const)
    for (const r of a.rows) {
      const c = r.key[`${side}_cluster`];
      const w = r.key[`${side}_workload`];
      const n = r.key[`${side}_namespace`];
      if (c != null && w != null && n != null) ns.set(`${c}/${w}`, String(n));
    }
  return collect(
    edges.rows.map((r) => ({ src: endOf(r.key, 'src', ns), dst: endOf(r.key, 'dst', ns), value: r.value })),
    q.metric,
  );
}

export { endOf };
