import { Codec, decodeBatch, encodeBatch, makeBatchMeta, type BatchMeta, type Cloud, type FlowBatch } from '../../src/index.js';
import type { Candidate } from './types.js';

/**
 * The purpose-built columnar format as shipped (src/encoding.ts): header, checksums, narrow
 * integer columns, dictionary strings, whole body compressed. Measured through the product
 * functions so the figures include everything a real message costs.
 */
const metas = new Map<string, BatchMeta>();
function metaFor(batch: FlowBatch): BatchMeta {
  const cloud = (batch.length > 0 ? batch.cloudOf(0) : 'aws') as Cloud;
  const key = `${cloud}/${batch.length}`;
  let m = metas.get(key);
  if (!m) {
    m = makeBatchMeta({
      tenant: 'tenant-0001',
      cloud,
      account: String(batch.get(0, 2) ?? 'unknown'),
      source: { container: 'flow-logs-bucket', key: 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/11/26/x.log.gz', version: '"9b2cf535f27731c974343645a3985328"', range: { unit: 'bytes', start: 0, end: 1048576 } },
      seq: 0,
      records: batch.length,
      createdAt: '2024-11-26T10:05:00.000Z',
    });
    metas.set(key, m);
  }
  return m;
}

export function slfb(name: string, codec: Codec, level?: number): Candidate {
  const opts = level === undefined ? { codec } : { codec, level };
  return {
    name,
    encode: (batch) => encodeBatch(metaFor(batch), batch, opts),
    decode: (buf) => decodeBatch(buf).batch,
  };
}
