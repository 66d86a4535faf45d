import type { Owner, OwnerReference } from '@sightline/kube-model';

export interface Workload {
  name: string;
  kind: string;
}

/**
 * The workload a pod belongs to, following controller owner references up:
 * Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob, Pod -> StatefulSet / DaemonSet.
 * An owner missing from the metadata stops the walk at the last one known (a ReplicaSet
 * whose Deployment was not seen stays a ReplicaSet: its name is not parsed for a guess).
 * Null for a pod without owners (a bare pod is not a workload).
 */
export function resolveWorkload(refs: readonly OwnerReference[], ownersByUid: ReadonlyMap<string, Owner>): Workload | null {
  let ref = controllerOf(refs);
  if (!ref) return null;
  // owner chains are two long in practice; the bound guards against a cycle in bad metadata
  for (let depth = 0; depth < 8; depth++) {
    const owner = ownersByUid.get(ref.uid);
    const next = owner ? controllerOf(owner.ownerReferences) : undefined;
    if (!next) return { name: ref.name, kind: ref.kind };
    ref = next;
  }
  return { name: ref.name, kind: ref.kind };
}

function controllerOf(refs: readonly OwnerReference[]): OwnerReference | undefined {
  return refs.find((r) => r.controller === true) ?? refs[0];
}
