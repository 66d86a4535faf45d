/**
 * Writes flows-v1.slfb: flows.json encoded by format version 1 (lz4). Run once when the format
 * version changes, never to "fix" a failing test: the old file must keep decoding.
 *
 *   node --import tsx src/testdata/make-flows-v1.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { colIndex, encodeBatch, FIELD_LIST, FlowBatch, makeBatchMeta } from '../index.js';

const rows = JSON.parse(readFileSync(new URL('flows.json', import.meta.url), 'utf8')) as Record<string, unknown>[];
const b = new FlowBatch(rows.length);
for (const row of rows) {
  const r = b.length;
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith('_')) continue;
    if (k === 'extra') b.extras()[r] = v as Record<string, string>;
    else if (FIELD_LIST[colIndex(k)]!.kind === 'string') b.strings(colIndex(k))[r] = v as string;
    else b.numbers(colIndex(k))[r] = v as number;
  }
  b.length++;
}
const meta = makeBatchMeta({
  tenant: 'acme',
  cloud: 'aws',
  account: '123456789010',
  source: { container: 'acme-flow-logs', key: 'samples/flows.json', version: null, range: null },
  seq: 0,
  records: b.length,
  createdAt: '2024-11-26T10:05:00.000Z',
});
writeFileSync(new URL('flows-v1.slfb', import.meta.url), encodeBatch(meta, b));
