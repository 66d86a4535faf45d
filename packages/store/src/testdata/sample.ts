import { readFileSync } from 'node:fs';
import { colIndex, FIELD_LIST, FlowBatch, makeBatchMeta, type BatchMeta } from '@sightline/flow';

/**
 * enriched-flows.json: the flow package's documented sample records (AWS v2-v5, GCP, Azure;
 * times as epoch ms, some with sub-ms digits) with Kubernetes attribution of both ends added,
 * and one row carrying unknown source fields in `extra`.
 */
export function sampleBatch(): FlowBatch {
  const rows = JSON.parse(readFileSync(new URL('./enriched-flows.json', import.meta.url), 'utf8')) as Record<string, unknown>[];
  const b = new FlowBatch(rows.length);
  rows.forEach((row, i) => {
    for (const [k, v] of Object.entries(row)) {
      if (k === '_from') continue;
      if (k === 'extra') {
        b.extras()[i] = v as Record<string, string>;
        continue;
      }
      const c = colIndex(k);
      if (FIELD_LIST[c]!.kind === 'string') b.strings(c)[i] = v as string | null;
      else b.numbers(c)[i] = v === null ? NaN : (v as number);
    }
  });
  b.length = rows.length;
  return b;
}

/** A header for a test batch; `key` makes the id distinct. */
export function metaFor(tenant: string, key: string, records: number, seq = 0): BatchMeta {
  return makeBatchMeta({
    tenant,
    cloud: 'aws',
    account: '123456789012',
    source: { container: 'flow-logs', key, version: null, range: null },
    seq,
    records,
    createdAt: '2024-11-26T10:00:00.000Z',
  });
}
