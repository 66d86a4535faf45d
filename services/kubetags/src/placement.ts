import { parseProviderId, type KubeNode } from '@sightline/kube-model';

export interface PlacementCount {
  cloud: string;
  account: string;
  region: string;
  zone: string;
  nodes: number;
}

/**
 * Where the cluster runs, node by node: the cloud and account from providerID (EKS, GKE, AKS),
 * region and zone from the topology labels (the providerID's zone where a label is missing).
 * Nodes without a known providerID (kind, bare metal) count as cloud "none".
 */
export function summarizePlacement(nodes: Iterable<KubeNode>): PlacementCount[] {
  const by = new Map<string, PlacementCount>();
  for (const n of nodes) {
    const p = parseProviderId(n.providerID);
    const c: Omit<PlacementCount, 'nodes'> = {
      cloud: p?.cloud ?? 'none',
      account: p?.account ?? '',
      region: n.region ?? '',
      zone: n.zone ?? p?.zone ?? '',
    };
    const key = `${c.cloud}\u0000${c.account}\u0000${c.region}\u0000${c.zone}`;
    const cur = by.get(key);
    if (cur) cur.nodes += 1;
    else by.set(key, { ...c, nodes: 1 });
  }
  return [...by.values()].sort((a, b) => b.nodes - a.nodes || a.cloud.localeCompare(b.cloud) || a.zone.localeCompare(b.zone));
}
