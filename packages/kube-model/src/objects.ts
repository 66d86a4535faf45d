import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The reduced Kubernetes objects kubetags sends and the enricher keeps: only what attribution
 * needs (addresses, the times that bound who held them, owners, a few labels). Full objects
 * would be 10-50 times larger, and a 20,000-pod cluster sends them on every snapshot.
 *
 * Times are RFC 3339 strings as the API server writes them (second precision, `Z`).
 */

export const Rfc3339 = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, 'RFC 3339 time');

/**
 * What the API server itself allows in the fields an agent sends. The schemas above stay lenient
 * (kubectl dumps, records already in Kafka); the ingest boundary checks these on top
 * (IngestEnvelopeSchema), so a payload cannot carry a uid that makes a strange Kafka key or an
 * address the lease index cannot hold.
 */
/** metadata.uid: a UUID in practice; lower-case letters, digits and "-", bounded. */
export const isKubeUid = (s: string): boolean => s.length <= 128 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s);
/** DNS-1123 subdomain: pod, node, workload and endpoint slice names. */
export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(s);
/** DNS-1123 label: namespaces, service names. */
export const isDnsLabel = (s: string): boolean => s.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s);
/** An IPv4 or IPv6 address as Kubernetes writes it: no zone, no prefix length, no brackets. */
export const isIpAddress = (s: string): boolean => !s.includes('%') && isIP(s) !== 0;

export const OwnerReferenceSchema = z.object({
  kind: z.string().min(1),
  name: z.string().min(1),
  uid: z.string().min(1),
  controller: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReferenceSchema>;

const meta = {
  uid: z.string().min(1),
  name: z.string().min(1),
  /** creationTimestamp */
  createdAt: Rfc3339,
  /** set when deletion was requested; the object goes away at most its grace period later */
  deletedAt: Rfc3339.nullable().default(null),
};

export const PodSchema = z.object({
  kind: z.literal('Pod'),
  ...meta,
  namespace: z.string().min(1),
  node: z.string().nullable().default(null),
  /** status.podIPs (IPv4 and/or IPv6), empty until the sandbox has a network */
  podIPs: z.array(z.string().min(1)).default([]),
  hostNetwork: z.boolean().default(false),
  phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).default('Unknown'),
  /** only the labels of the configured allow-list */
  labels: z.record(z.string(), z.string()).default({}),
  ownerReferences: z.array(OwnerReferenceSchema).default([]),
  /** status.startTime: when the kubelet took the pod, before its sandbox got an IP */
  startTime: Rfc3339.nullable().default(null),
  /** latest containerStatuses[].state.terminated.finishedAt, set once every container has terminated */
  finishedAt: Rfc3339.nullable().default(null),
});
export type Pod = z.infer<typeof PodSchema>;

export const NodeAddressSchema = z.object({
  type: z.enum(['InternalIP', 'ExternalIP']),
  address: z.string().min(1),
});

export const NodeSchema = z.object({
  kind: z.literal('Node'),
  ...meta,
  addresses: z.array(NodeAddressSchema).default([]),
  providerID: z.string().nullable().default(null),
  /** topology.kubernetes.io/zone (or the deprecated failure-domain label) */
  zone: z.string().nullable().default(null),
  region: z.string().nullable().default(null),
});
export type KubeNode = z.infer<typeof NodeSchema>;

export const ServiceSchema = z.object({
  kind: z.literal('Service'),
  ...meta,
  namespace: z.string().min(1),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).default('ClusterIP'),
  /** spec.clusterIPs without "None" (headless services have no address of their own) */
  clusterIPs: z.array(z.string().min(1)).default([]),
  externalIPs: z.array(z.string().min(1)).default([]),
  /** status.loadBalancer.ingress[].ip (hostname-only ingresses carry no address) */
  loadBalancerIPs: z.array(z.string().min(1)).default([]),
});
export type Service = z.infer<typeof ServiceSchema>;

export const EndpointSliceSchema = z.object({
  kind: z.literal('EndpointSlice'),
  ...meta,
  namespace: z.string().min(1),
  /** label kubernetes.io/service-name */
  service: z.string().nullable().default(null),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string().min(1)),
        /** the pod behind the addresses, when the slice names one */
        podUid: z.string().nullable().default(null),
      }),
    )
    .default([]),
});
export type EndpointSlice = z.infer<typeof EndpointSliceSchema>;

export const OWNER_KINDS = ['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;
export type OwnerKind = (typeof OWNER_KINDS)[number];

export const OwnerSchema = z.object({
  kind: z.enum(OWNER_KINDS),
  ...meta,
  namespace: z.string().min(1),
  ownerReferences: z.array(OwnerReferenceSchema).default([]),
});
export type Owner = z.infer<typeof OwnerSchema>;

export const KubeObjectSchema = z.discriminatedUnion('kind', [PodSchema, NodeSchema, ServiceSchema, EndpointSliceSchema, OwnerSchema]);
export type KubeObject = z.infer<typeof KubeObjectSchema>;
export type KubeKind = KubeObject['kind'];
