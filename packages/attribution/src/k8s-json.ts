import { colIndex, fieldsOfGroup, type FlowBatch } from '@sightline/flow';

const K8S = fieldsOfGroup('k8s').map((s) => ({ index: colIndex(s.name), key: ',' + JSON.stringify(s.name) + ':' }));

/**
 * The `src_k8s_*`/`dst_k8s_*` members of one row as a JSON fragment (`,"src_k8s_kind":"pod",...`),
 * appended by the enricher to the row's `jsonLine`, which leaves the k8s group out so that
 * `sightline parse` output stays as it is.
 */
export function k8sJsonMembers(batch: FlowBatch, row: number): string {
  let s = '';
  for (let k = 0; k < K8S.length; k++) {
    const f = K8S[k]!;
    const c = batch.columns[f.index];
    const v = c === undefined ? null : c[row];
    s += f.key + (typeof v === 'string' ? JSON.stringify(v) : 'null');
  }
  return s;
}

/** A row's NDJSON line with its k8s members added at the end. */
export function enrichedJsonLine(batch: FlowBatch, row: number): string {
  const line = batch.jsonLine(row);
  return line.slice(0, -1) + k8sJsonMembers(batch, row) + '}';
}
