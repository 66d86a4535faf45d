import { z } from 'zod';
import { isDnsLabel, isDnsSubdomain, isIpAddress, isKubeUid, KubeObjectSchema, Rfc3339, type KubeObject } from './objects.js';

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

type Path = (string | number)[];
type Issue = (path: Path, message: string) => void;

const UID = 'a Kubernetes uid: lower-case letters, digits and "-", at most 128';
const SUBDOMAIN = 'a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", at most 253';
const LABEL = 'a DNS-1123 label: lower-case letters, digits and "-", at most 63';
const IP = 'an IPv4 or IPv6 address';

function checkObject(o: KubeObject, at: Path, issue: Issue): void {
  if (!isKubeUid(o.uid)) issue([...at, 'uid'], UID);
  if (!isDnsSubdomain(o.name)) issue([...at, 'name'], SUBDOMAIN);
  if (o.kind !== 'Node' && !isDnsLabel(o.namespace)) issue([...at, 'namespace'], LABEL);
  const ips = (field: string, list: readonly string[]) => list.forEach((a, j) => { if (!isIpAddress(a)) issue([...at, field, j], IP); });
  const owners = (refs: readonly { uid: string; name: string }[]) =>
    refs.forEach((r, j) => {
      if (!isKubeUid(r.uid)) issue([...at, 'ownerReferences', j, 'uid'], UID);
      if (!isDnsSubdomain(r.name)) issue([...at, 'ownerReferences', j, 'name'], SUBDOMAIN);
    });
  switch (o.kind) {
    case 'Pod':
      if (o.node !== null && !isDnsSubdomain(o.node)) issue([...at, 'node'], SUBDOMAIN);
      ips('podIPs', o.podIPs);
      owners(o.ownerReferences);
      break;
    case 'Node':
      o.addresses.forEach((a, j) => { if (!isIpAddress(a.address)) issue([...at, 'addresses', j, 'address'], IP); });
      break;
    case 'Service':
      ips('clusterIPs', o.clusterIPs);
      ips('externalIPs', o.externalIPs);
      ips('loadBalancerIPs', o.loadBalancerIPs);
      break;
    case 'EndpointSlice':
      // endpoint addresses stay free text: an FQDN slice holds host names
      if (o.service !== null && !isDnsLabel(o.service)) issue([...at, 'service'], LABEL);
      o.endpoints.forEach((e, j) => { if (e.podUid !== null && !isKubeUid(e.podUid)) issue([...at, 'endpoints', j, 'podUid'], UID); });
      break;
    default:
      owners(o.ownerReferences);
  }
}

/**
 * The envelope as the ingest API accepts it: EnvelopeSchema, plus uids, names and addresses as
 * the API server allows them, each refusal naming its field (`upserts.3.object.uid: …`). A uid
 * becomes part of a Kafka key, so `../../other-tenant` must never get that far, even though the
 * key's tenant prefix comes from the token.
 */
export const IngestEnvelopeSchema = EnvelopeSchema.superRefine((e, ctx) => {
  let n = 0;
  const issue: Issue = (path, message) => {
    // one bad snapshot could hold 20,000 bad objects: the first issues are enough to fix the agent
    if (n++ < 20) ctx.addIssue({ code: 'custom', path, message });
  };
  e.upserts.forEach((u, i) => checkObject(u.object, ['upserts', i, 'object'], issue));
  e.deletes.forEach((d, i) => {
    if (!isKubeUid(d.uid)) issue(['deletes', i, 'uid'], UID);
    if (!isDnsSubdomain(d.name)) issue(['deletes', i, 'name'], SUBDOMAIN);
    if (d.namespace !== null && !isDnsLabel(d.namespace)) issue(['deletes', i, 'namespace'], LABEL);
  });
});
