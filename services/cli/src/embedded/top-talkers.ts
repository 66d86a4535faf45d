import { z } from 'zod';

/** The part of the query API's topN answer the summary reads (the API's own schema is richer). */
export const TopNAnswerSchema = z.object({
  rollup: z.string(),
  dimensions: z.array(z.string()),
  rows: z.array(z.object({ key: z.record(z.string(), z.union([z.string(), z.number(), z.null()])), value: z.number() })),
});
export type TopNAnswer = z.infer<typeof TopNAnswerSchema>;

// the API takes at most four dimensions: cluster and workload of each end (a workload name is unique enough within a cluster here)
export const TALKER_DIMENSIONS = ['src_cluster', 'src_workload', 'dst_cluster', 'dst_workload'] as const;

/** The `GET /v1/query/topn` path of the top talkers by workload (bytes) over [fromMs, toMs). */
export function topTalkersPath(fromMs: number, toMs: number, limit = 10): string {
  // the API takes whole seconds: widen the span to the enclosing seconds
  const from = Math.floor(fromMs / 1000) * 1000;
  const to = Math.floor(toMs / 1000) * 1000 + 1000;
  const q = new URLSearchParams({ from: String(from), to: String(to), metric: 'bytes', dimension: TALKER_DIMENSIONS.join(','), limit: String(limit) });
  return `/v1/query/topn?${q.toString()}`;
}

/** Asks the running API, as a user would, with the read token. */
export async function queryTopTalkers(url: string, token: string, fromMs: number, toMs: number, limit = 10): Promise<TopNAnswer> {
  const res = await fetch(url + topTalkersPath(fromMs, toMs, limit), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`query API ${url}/v1/query/topn answered ${res.status}: ${text.slice(0, 500)}`);
  const r = TopNAnswerSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`query API topn answer: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

const side = (k: TopNAnswer['rows'][number]['key'], s: 'src' | 'dst') => {
  const w = k[`${s}_workload`];
  const c = k[`${s}_cluster`];
  if (c === null || c === undefined) return '(outside the clusters)';
  // nodes (and hostNetwork pods, which are the node's traffic) have no workload
  if (w === null || w === undefined) return `${c}/(node)`;
  return `${c}/${w}`;
};

export function formatTopTalkers(a: TopNAnswer): string[] {
  const rows = a.rows.map((r) => [side(r.key, 'src'), side(r.key, 'dst'), human(r.value)] as const);
  const w0 = Math.max(6, ...rows.map((r) => r[0].length));
  const w1 = Math.max(11, ...rows.map((r) => r[1].length));
  return [
    `${'source'.padEnd(w0)}  ${'destination'.padEnd(w1)}  bytes`,
    ...rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`),
  ];
}

function human(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
