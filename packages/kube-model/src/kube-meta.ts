import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DeleteSchema, type Envelope } from './envelope.js';
import { KubeObjectSchema, Rfc3339 } from './objects.js';

/**
 * The records of the compacted kube-meta topic, as the ingest API writes them and the enricher
 * reads them. One record per object change, keyed `tenant/cluster/kind/uid`, so compaction keeps
 * the latest state of every object (and, within min.compaction.lag.ms, its history).
 *
 * - upsert: the object as of `at`.
 * - delete: the object was deleted at `at`. Deletion times bound pod leases, so a delete is a
 *   record with a time, immediately followed by a tombstone (null value) on the same key: within
 *   the history window the consumer sees the time, after it compaction drops the key entirely.
 * - snapshot: key `tenant/cluster/~snapshot`, written after the last part of a full snapshot.
 *   Every object of that cluster whose latest record carries an older epoch is gone as of `at`
 *   (it was deleted while nobody watched: agent down, watch gap).
 *
 * All records of one cluster go to one partition (partitionFor), so the consumer reads them in
 * the order the agent sent them and a snapshot marker never overtakes the objects it completes.
 */

const Name = z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, 'lower-case letters, digits, "-" and "." (a DNS subdomain)');
export const TenantName = Name;
export const ClusterName = Name;

const common = {
  tenant: TenantName,
  cluster: ClusterName,
  epoch: z.number().int().nonnegative(),
};

export const KubeMetaUpsertSchema = z.object({ type: z.literal('upsert'), ...common, at: Rfc3339, object: KubeObjectSchema });
export const KubeMetaDeleteSchema = z.object({ type: z.literal('delete'), ...common, ...DeleteSchema.shape });
export const KubeMetaSnapshotSchema = z.object({
  type: z.literal('snapshot'),
  ...common,
  at: Rfc3339,
  /** resourceVersion of the snapshot's lists (the newest of them) */
  resourceVersion: z.string().min(1),
  /** objects in the snapshot, all parts together */
  objects: z.number().int().nonnegative(),
});
export const KubeMetaRecordSchema = z.discriminatedUnion('type', [KubeMetaUpsertSchema, KubeMetaDeleteSchema, KubeMetaSnapshotSchema]);
export type KubeMetaRecord = z.infer<typeof KubeMetaRecordSchema>;

export const SNAPSHOT_KEY_KIND = '~snapshot';

export function kubeMetaKey(tenant: string, cluster: string, kind: string, uid: string): string {
  return `${tenant}/${cluster}/${kind}/${uid}`;
}

export function snapshotKey(tenant: string, cluster: string): string {
  return `${tenant}/${cluster}/${SNAPSHOT_KEY_KIND}`;
}

/** The partition of every record of one cluster: a stable hash, so producers agree without talking. */
export function partitionFor(tenant: string, cluster: string, partitions: number): number {
  const h = createHash('sha256').update(`${tenant}/${cluster}`).digest();
  return h.readUInt32BE(0) % partitions;
}

export interface KeyedRecord {
  key: string;
  /** null: a tombstone */
  value: KubeMetaRecord | null;
}

/**
 * The records one envelope becomes; the last part of a full snapshot adds the snapshot marker. Upserts before deletes, as the agent saw them.
 */
export function envelopeRecords(tenant: string, env: Envelope): KeyedRecord[] {
  const epoch = env.epoch ?? 0;
  const c = env.cluster;
  const out: KeyedRecord[] = [];
  for (const u of env.upserts) {
    out.push({ key: kubeMetaKey(tenant, c, u.object.kind, u.object.uid), value: { type: 'upsert', tenant, cluster: c, epoch, at: u.at, object: u.object } });
  }
  for (const d of env.deletes) {
    const key = kubeMetaKey(tenant, c, d.kind, d.uid);
    out.push({ key, value: { type: 'delete', tenant, cluster: c, epoch, ...d } });
    out.push({ key, value: null });
  }
  if (env.full && (env.part === undefined || env.part.last)) {
    out.push({
      key: snapshotKey(tenant, c),
      value: { type: 'snapshot', tenant, cluster: c, epoch, at: env.sentAt, resourceVersion: env.resourceVersion, objects: env.part?.total ?? env.upserts.length },
    });
  }
  return out;
}
