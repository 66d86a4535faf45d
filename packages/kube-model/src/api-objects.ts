import { reduceItem } from './kubectl.js';
import type { KubeObject } from './objects.js';

/**
 * Reduces objects as `@kubernetes/client-node` hands them over: typed list results carry `Date`
 * instances and no `kind` on items, watch events carry the API server's JSON. Both end up as
 * the same reduced objects as a kubectl dump, so agent, CLI and enricher share one model.
 */

/** The kinds kubetags lists and watches, with where their collections live in the API. */
export const WATCHED_KINDS = [
  { kind: 'Node', group: '', version: 'v1', plural: 'nodes' },
  { kind: 'Pod', group: '', version: 'v1', plural: 'pods' },
  { kind: 'Service', group: '', version: 'v1', plural: 'services' },
  { kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' },
  { kind: 'ReplicaSet', group: 'apps', version: 'v1', plural: 'replicasets' },
  { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments' },
  { kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets' },
  { kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets' },
  { kind: 'Job', group: 'batch', version: 'v1', plural: 'jobs' },
  { kind: 'CronJob', group: 'batch', version: 'v1', plural: 'cronjobs' },
] as const;
export type WatchedKind = (typeof WATCHED_KINDS)[number]['kind'];

/** `/api/v1/pods`, `/apis/apps/v1/deployments`: the cluster-wide collection path of a kind. */
export function collectionPath(k: (typeof WATCHED_KINDS)[number]): string {
  return k.group === '' ? `/api/${k.version}/${k.plural}` : `/apis/${k.group}/${k.version}/${k.plural}`;
}

/** RFC 3339 the way the API server writes it: second precision unless there is a fraction. */
export function rfc3339(d: Date): string {
  const iso = d.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

// managedFields and annotations are the bulk of an object and nothing in the model reads them.
const SKIP = new Set(['managedFields', 'annotations']);

function toJson(v: unknown): unknown {
  if (v instanceof Date) return rfc3339(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined && !SKIP.has(k)) out[k] = toJson(x);
    return out;
  }
  return v;
}

/**
 * One API object to the model. `kind` is the collection's kind (list items omit it); null when
 * the kind is not one attribution uses. Throws ReduceError (kind, namespace/name, bad fields).
 */
export function fromApiObject(kind: WatchedKind, obj: unknown, labelAllowList: ReadonlySet<string>): KubeObject | null {
  const json = toJson(obj);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return reduceItem({ kind }, labelAllowList);
  return reduceItem({ ...json, kind }, labelAllowList);
}
