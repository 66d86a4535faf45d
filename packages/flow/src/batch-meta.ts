import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CLOUDS, FLOW_SCHEMA_VERSION } from './fields.js';

/**
 * The header of a Kafka message that carries one FlowBatch. Consumers read it (and dedupe
 * by `id`) before paying for the body, so it holds everything needed to decide whether the
 * body is wanted and where it came from.
 */

/** Part of a source object a batch was read from: a byte range, or the byte span of Azure blocks. */
export const SourceRangeSchema = z
  .object({
    unit: z.enum(['bytes', 'blocks']),
    /** inclusive start offset (bytes), or index of the first block */
    start: z.number().int().nonnegative(),
    /** exclusive end offset (bytes), or index after the last block */
    end: z.number().int().nonnegative(),
  })
  .refine((r) => r.end >= r.start, { message: 'range end must not be before its start' });

export const SourceRefSchema = z.object({
  /** S3 bucket, GCS bucket or Azure container (with the storage account: `account/container`) */
  container: z.string().min(1),
  key: z.string().min(1),
  /** object version id or etag; null when the store has neither (then the key alone names the content) */
  version: z.string().min(1).nullable(),
  /** null when the whole object was read */
  range: SourceRangeSchema.nullable(),
});

const ISO_UTC = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/, 'ISO-8601 UTC ending in Z');

export const BatchMetaSchema = z.object({
  /** FLOW_SCHEMA_VERSION of the writer; a reader refuses a newer one rather than misread it */
  schema: z.number().int().positive(),
  /** hex sha256 of the identity parts (see batchId); the dedupe key in the store */
  id: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
  tenant: z.string().min(1),
  cloud: z.enum(CLOUDS),
  /** AWS account id, GCP project id or Azure subscription id the source object belongs to */
  account: z.string().min(1),
  source: SourceRefSchema,
  /** sequence number of this batch within the object (or range), from 0 */
  seq: z.number().int().nonnegative(),
  /** number of flows in the body */
  records: z.number().int().nonnegative(),
  createdAt: ISO_UTC,
});

export type BatchMeta = z.infer<typeof BatchMetaSchema>;
export type SourceRef = z.infer<typeof SourceRefSchema>;
export type SourceRange = z.infer<typeof SourceRangeSchema>;

/** What identifies a batch: the same object content read again yields the same id. */
export interface BatchIdentity {
  tenant: string;
  cloud: BatchMeta['cloud'];
  account: string;
  source: SourceRef;
  seq: number;
}

/**
 * Deterministic batch id. The parts are joined as a JSON array, which is unambiguous whatever
 * characters keys contain (a separator-joined string would let `a|b` + `c` collide with `a` + `b|c`).
 * The schema version is deliberately left out: re-reading an object after an upgrade must still
 * dedupe against what the older version wrote.
 */
export function batchId(p: BatchIdentity): string {
  const r = p.source.range;
  const canonical = JSON.stringify([
    'sightline-batch/1',
    p.tenant,
    p.cloud,
    p.account,
    p.source.container,
    p.source.key,
    p.source.version,
    r === null ? null : [r.unit, r.start, r.end],
    p.seq,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

export interface BatchMetaInput extends BatchIdentity {
  records: number;
  /** defaults to now */
  createdAt?: Date | string;
}

/** Builds and validates a header, computing its id. */
export function makeBatchMeta(input: BatchMetaInput): BatchMeta {
  const createdAt = input.createdAt === undefined ? new Date() : input.createdAt;
  return BatchMetaSchema.parse({
    schema: FLOW_SCHEMA_VERSION,
    id: batchId(input),
    tenant: input.tenant,
    cloud: input.cloud,
    account: input.account,
    source: input.source,
    seq: input.seq,
    records: input.records,
    createdAt: typeof createdAt === 'string' ? createdAt : createdAt.toISOString(),
  });
}
