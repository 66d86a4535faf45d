import type { Scalar, TopNAnswer } from './api.js';

/** Shapes of the flow listing and the pipeline health, and the health page's arithmetic (no DOM: the browser tests import it). */
export type K8s = Record<string, Scalar>;
export interface FlowRow {
  id: string;
  ts: number;
  cloud: string | null;
  account: string | null;
  src: { addr: string | null; port: number | null; k8s: K8s };
  dst: { addr: string | null; port: number | null; k8s: K8s };
  protocol: number | null;
  packets: number;
  bytes: number;
  action: string | null;
  direction: string | null;
  start: number | null;
  end: number | null;
  fields: Record<string, Scalar>;
}
export interface FlowsAnswer {
  from: number;
  to: number;
  order: 'asc' | 'desc';
  next: string | null;
  rows: FlowRow[];
}

/** GET /v1/pipeline/health (services/api pipeline-health.ts) */
interface SourceRow {
  cloud: string;
  account: string;
  source: string | null;
  lagSeconds: number | null;
  lastReadAt: number | null;
  objectsRead: number | null;
  records: number | null;
  errors: number | null;
  deadLetters: number | null;
}
export interface PipelineHealth {
  mode: string;
  at: number;
  sources: SourceRow[];
  enricher: { lagMessages: number | null; pendingRows: number | null; attributedEnds: number | null; unattributedEnds: number | null } | null;
  unreachable: string[];
}
export interface DeadLetters {
  available: boolean;
  letters: { at: number; kind: string; reason: string; stage: string; cloud: string | null; account: string | null; bucket: string | null; object: string | null; line: number | null }[];
}

/** Per cluster: the share of its flows whose other end is attributed to no cluster. */
export function unattributedShare(a: TopNAnswer): { cluster: string; flows: number; unattributed: number; share: number }[] {
  const by = new Map<string, { flows: number; unattributed: number }>();
  const add = (c: Scalar | undefined, other: Scalar | undefined, v: number) => {
    if (c === null || c === undefined) return;
    const e = by.get(String(c)) ?? { flows: 0, unattributed: 0 };
    e.flows += v;
    if (other === null || other === undefined) e.unattributed += v;
    by.set(String(c), e);
  };
  for (const r of a.rows) {
    add(r.key.src_cluster, r.key.dst_cluster, r.value);
    // a flow inside one cluster counts once for it
    if (r.key.dst_cluster !== r.key.src_cluster) add(r.key.dst_cluster, r.key.src_cluster, r.value);
  }
  return [...by.entries()].map(([cluster, e]) => ({ cluster, ...e, share: e.flows === 0 ? 0 : e.unattributed / e.flows })).sort((x, y) => x.cluster.localeCompare(y.cluster));
}

