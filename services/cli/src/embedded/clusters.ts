import fs from 'node:fs';
import path from 'node:path';
import { KubeMetaState, type DeclaredScope } from '@sightline/attribution';
import { DEFAULT_LABEL_ALLOW_LIST, envelopeRecords, fromKubectlList, type KeyedRecord, type KubeMetaRecord } from '@sightline/kube-model';
import type { LoadedConfig } from './config.js';

/**
 * The one cluster loader: each cluster's kubectl dump becomes the kube-meta records kubetags and
 * the ingest API would write for it (a full snapshot: every object upserted, then the snapshot
 * marker), with the pod labels kubetags keeps by default. The embedded mode applies them to the
 * enricher's attribution state in-process; the distributed mode publishes them to the kube-meta
 * topic, where the enricher reads them into the same state.
 */
export function clusterRecords(cfg: LoadedConfig, at: Date = new Date()): KeyedRecord[] {
  const sentAt = at.toISOString();
  return cfg.config.clusters.flatMap((c) => {
    const file = path.resolve(cfg.dir, c.kube);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`cluster ${c.name}: ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const dump = fromKubectlList(json, { source: file, labelAllowList: DEFAULT_LABEL_ALLOW_LIST });
    return envelopeRecords(cfg.config.tenant, {
      cluster: c.name,
      resourceVersion: 'kubectl-dump',
      sentAt,
      full: true,
      epoch: 0,
      upserts: dump.objects.map((object) => ({ at: sentAt, object })),
      deletes: [],
    });
  });
}

/** Each cluster's declared scope (sightline.json `clusters[].scope`), as the enricher's `enricher.clusters` section declares it. */
export function declaredScopes(cfg: LoadedConfig): DeclaredScope[] {
  return cfg.config.clusters.map((c) => ({ tenant: cfg.config.tenant, cluster: c.name, cloud: c.scope.cloud, accounts: [...c.scope.accounts], networks: [...c.scope.networks] }));
}

/** The attribution state of the configured clusters, as the enricher holds it once it has read their records. */
export function loadClusters(cfg: LoadedConfig): KubeMetaState {
  const state = new KubeMetaState({ scopes: declaredScopes(cfg) });
  state.applyAll(clusterRecords(cfg).flatMap((r): KubeMetaRecord[] => (r.value === null ? [] : [r.value])));
  return state;
}
