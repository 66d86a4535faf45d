import { z } from 'zod';
import { CLOUDS } from '@sightline/flow';
import type { ObjectRef } from '@sightline/object-store';
import { scrub } from './log.js';

/**
 * A dead-letter record: what could not be turned into flows, why, and where it came from, with
 * the offending bytes (capped by the parsers) so it can be replayed once the cause is fixed.
 */
export const DeadLetter = z.object({
  kind: z.enum(['bad-object', 'unreadable-object', 'bad-record', 'incomplete-record']),
  reason: z.string(),
  stage: z.literal('collector'),
  ref: z.object({
    cloud: z.enum(CLOUDS),
    tenant: z.string(),
    account: z.string(),
    bucket: z.string(),
    key: z.string(),
    version: z.string(),
    range: z.object({ start: z.number(), end: z.number() }).optional(),
    blocks: z.object({ first: z.number(), last: z.number() }).optional(),
  }),
  line: z.number().int().optional(),
  offset: z.number().int().optional(),
  /** base64 of the offending bytes */
  raw: z.string().optional(),
  at: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

export function deadLetterMessage(
  ref: ObjectRef,
  kind: DeadLetter['kind'],
  reason: string,
  where: { line?: number | undefined; offset?: number | undefined; raw?: Uint8Array | undefined },
): string {
  const letter: DeadLetter = DeadLetter.parse({
    kind,
    reason: scrub(reason),
    stage: 'collector',
    ref: {
      cloud: ref.cloud, tenant: ref.tenant, account: ref.account, bucket: ref.bucket, key: ref.key, version: ref.version,
      ...(ref.range ? { range: ref.range } : {}), ...(ref.blocks ? { blocks: ref.blocks } : {}),
    },
    ...(where.line !== undefined ? { line: where.line } : {}),
    ...(where.offset !== undefined ? { offset: where.offset } : {}),
    ...(where.raw !== undefined ? { raw: Buffer.from(where.raw).toString('base64') } : {}),
    at: new Date().toISOString(),
  });
  return JSON.stringify(letter);
}
