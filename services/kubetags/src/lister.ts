import { AppsV1Api, BatchV1Api, CoreV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { WatchedKind } from '@sightline/kube-model';

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continueToken: string | undefined;
}

type Page = { limit: number; _continue?: string };
interface AnyList {
  items: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

/**
 * Cluster-wide, paged lists of the watched kinds through the typed clients (list only: the
 * ClusterRole grants get, list and watch, nothing else).
 */
export class Lister {
  private readonly fns: Record<WatchedKind, (p: Page) => Promise<AnyList>>;

  constructor(kc: KubeConfig) {
    const core = kc.makeApiClient(CoreV1Api);
    const disc = kc.makeApiClient(DiscoveryV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    this.fns = {
      Node: (p) => core.listNode(p),
      Pod: (p) => core.listPodForAllNamespaces(p),
      Service: (p) => core.listServiceForAllNamespaces(p),
      EndpointSlice: (p) => disc.listEndpointSliceForAllNamespaces(p),
      ReplicaSet: (p) => apps.listReplicaSetForAllNamespaces(p),
      Deployment: (p) => apps.listDeploymentForAllNamespaces(p),
      StatefulSet: (p) => apps.listStatefulSetForAllNamespaces(p),
      DaemonSet: (p) => apps.listDaemonSetForAllNamespaces(p),
      Job: (p) => batch.listJobForAllNamespaces(p),
      CronJob: (p) => batch.listCronJobForAllNamespaces(p),
    };
  }

  async page(kind: WatchedKind, limit: number, continueToken?: string): Promise<ListPage> {
    const r = await this.fns[kind](continueToken ? { limit, _continue: continueToken } : { limit });
    const rv = r.metadata?.resourceVersion;
    if (!rv) throw new Error(`list ${kind}: the API server returned no resourceVersion`);
    return { items: r.items, resourceVersion: rv, continueToken: r.metadata?._continue || undefined };
  }
}
