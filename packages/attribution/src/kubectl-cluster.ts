import { parseProviderId, type KubeObject } from '@sightline/kube-model';
import type { ClusterScope } from './scope.js';

/**
 * The scope a point-in-time dump tells about its cluster: the cloud and, for GKE and AKS, the
 * project or subscription of its nodes' providerIDs. AWS providerIDs carry neither account nor
 * VPC, so an EKS dump alone gives a cloud-wide scope (declare accounts and networks to narrow it).
 * Null when no node has a providerID of a known cloud.
 */
export function scopeFromObjects(objects: readonly KubeObject[]): ClusterScope | null {
  const clouds = new Map<ClusterScope['cloud'], number>();
  const accounts = new Set<string>();
  for (const o of objects) {
    if (o.kind !== 'Node') continue;
    const p = parseProviderId(o.providerID);
    if (!p) continue;
    clouds.set(p.cloud, (clouds.get(p.cloud) ?? 0) + 1);
    if (p.account) accounts.add(p.account);
  }
  const cloud = [...clouds].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!cloud) return null;
  return { cloud, accounts: [...accounts].sort(), networks: [] };
}
