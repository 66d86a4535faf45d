import { z } from 'zod';
import { KubeObjectSchema, Rfc3339 } from './objects.js';

/**
 * What kubetags sends: a full snapshot on start and after any watch gap, deltas in between.
 * Every change carries its own event time, because the enricher looks flows up at their own
 * time and a delta can arrive minutes after the change it reports.
 */
export const UpsertSchema = z.object({
  /** when the agent saw the change */
  at: Rfc3339,
  object: KubeObjectSchema,
});

export const DeleteSchema = z.object({
  at: Rfc3339,
  kind: z.enum(['Pod', 'Node', 'Service', 'EndpointSlice', 'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']),
  uid: z.string().min(1),
  namespace: z.string().nullable().default(null),
  name: z.string().min(1),
});

export const EnvelopeSchema = z
  .object({
    cluster: z.string().min(1).max(253),
    /** resourceVersion of the list (snapshot) or of the last event (delta) */
    resourceVersion: z.string().min(1),
    sentAt: Rfc3339,
    /** true: the upserts are the whole cluster, and anything not in them is gone as of sentAt */
    full: z.boolean(),
    upserts: z.array(UpsertSchema).default([]),
    deletes: z.array(DeleteSchema).default([]),
    /**
     * The snapshot this envelope belongs to (full) or follows (delta). Increases with every
     * snapshot of an agent; a consumer ends every object whose latest record has an older epoch
     * once the snapshot is complete. Absent from hand-made envelopes (CLI, tests).
     */
    epoch: z.number().int().nonnegative().optional(),
    /**
     * A large snapshot goes as several envelopes (one request each, bounded size); only the last
     * one completes it. Absent: the snapshot is this one envelope.
     */
    part: z
      .object({
        index: z.number().int().nonnegative(),
        last: z.boolean(),
        /** on the last part: the objects of all parts together */
        total: z.number().int().nonnegative().optional(),
      })
      .optional(),
  })
  .refine((e) => !(e.full && e.deletes.length > 0), { message: 'a full snapshot carries no deletes', path: ['deletes'] })
  .refine((e) => e.full || e.part === undefined, { message: 'only a full snapshot comes in parts', path: ['part'] });

export type Envelope = z.infer<typeof EnvelopeSchema>;
export type Upsert = z.infer<typeof UpsertSchema>;
export type Delete = z.infer<typeof DeleteSchema>;
