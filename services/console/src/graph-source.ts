import type { Api, ApiFilter, ApiShape } from './api.js';
import { loadGraphFromTopN, specialNode, type MapData, type MapNode } from './graph-data.js';

export type { MapData, MapNode } from './graph-data.js';

export const EDGES_PATH = '/v1/query/edges';

interface EdgesAnswer {
  rollup: string;
  metric: string;
  nodes: { id: string; type: 'workload' | 'internet' | 'unattributed'; cluster: string | null; namespace: string | null; kind: string | null; workload: string | null }[];
  edges: { src: string; dst: string; flows: number; packets: number; bytes: number }[];
  truncated: boolean;
}

/** The API's edges answer as the map's data (node ids kept as the API gave them: they are opaque). */
export function fromEdges(a: EdgesAnswer, metric: string): MapData {
  const nodes: MapNode[] = a.nodes.map((n) =>
    n.type === 'workload'
      ? { id: n.id, kind: 'workload', cluster: n.cluster, namespace: n.namespace, workload: n.workload, label: n.workload !== null ? `${n.namespace ?? '-'}/${n.workload}` : `${n.cluster ?? '?'} hosts` }
      : { ...specialNode(n.type), id: n.id },
  );
  const m = metric as 'bytes' | 'flows' | 'packets';
  return { metric, nodes, edges: a.edges.map((e) => ({ source: e.src, target: e.dst, value: e[m] })), truncated: a.truncated, rollup: a.rollup };
}

/** The map's data: the API's edges route when it has one (internet and unattributed apart), else top-N. */
export async function loadGraph(api: Api, shape: ApiShape, q: { from: number; to: number; metric: string; filters: ApiFilter[]; limit: number }, signal?: AbortSignal): Promise<MapData> {
  if (!shape.paths.includes(EDGES_PATH)) return loadGraphFromTopN(api, q, signal);
  const a = await api.request<EdgesAnswer>('POST', EDGES_PATH, { ...q, group: 'workload', peers: 'split' }, signal);
  return fromEdges(a, q.metric);
}


