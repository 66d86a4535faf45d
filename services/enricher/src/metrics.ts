import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AttributionStats } from '@sightline/attribution';

/** The enricher's Prometheus metrics, by tenant where a tenant is known. */
export class EnricherMetrics {
  readonly registry = new Registry();
  private reg = { registers: [this.registry] };
  readonly consumedBatches = new Counter({ name: 'sightline_enricher_consumed_batches_total', help: 'flow batch messages consumed', labelNames: ['tenant'], ...this.reg });
  readonly consumedFlows = new Counter({ name: 'sightline_enricher_consumed_flows_total', help: 'flows in the consumed batches (header count)', labelNames: ['tenant'], ...this.reg });
  readonly writtenBatches = new Counter({ name: 'sightline_enricher_written_batches_total', help: 'batches the store confirmed as written', labelNames: ['tenant'], ...this.reg });
  readonly writtenFlows = new Counter({ name: 'sightline_enricher_written_flows_total', help: 'flows the store confirmed as written', labelNames: ['tenant'], ...this.reg });
  readonly duplicates = new Counter({ name: 'sightline_enricher_duplicate_batches_total', help: 'batches dropped because their id was written before (by header, or by the store ledger)', labelNames: ['tenant', 'where'], ...this.reg });
  readonly attributed = new Counter({ name: 'sightline_enricher_attributed_total', help: 'flow ends attributed to a Kubernetes endpoint', labelNames: ['tenant', 'side'], ...this.reg });
  readonly unattributed = new Counter({ name: 'sightline_enricher_unattributed_total', help: 'flow ends left null (no lease at the flow time, out of scope, or ambiguous)', labelNames: ['tenant', 'side'], ...this.reg });
  readonly ambiguous = new Counter({ name: 'sightline_enricher_ambiguous_total', help: 'flow ends found in two candidate clusters at once (left null)', labelNames: ['tenant'], ...this.reg });
  readonly gkeFallback = new Counter({ name: 'sightline_enricher_gke_fallback_total', help: 'flow ends attributed from GCP gke_details because no cluster of the scope knew the address', labelNames: ['tenant'], ...this.reg });
  readonly gkeDisagreements = new Counter({ name: 'sightline_enricher_gke_disagreements_total', help: 'flow ends where the index and GCP gke_details name different pods (the index wins)', labelNames: ['tenant'], ...this.reg });
  readonly badMessages = new Counter({ name: 'sightline_enricher_bad_messages_total', help: 'flows topic messages that could not be decoded (skipped, logged with topic/partition/offset)', ...this.reg });
  readonly configReloads = new Counter({ name: 'sightline_enricher_config_reloads_total', help: 'configuration file reloads, by result (ok, invalid)', labelNames: ['result'], ...this.reg });
  readonly metaRecords = new Counter({ name: 'sightline_enricher_kube_meta_records_total', help: 'kube-meta records applied, by type', labelNames: ['type'], ...this.reg });
  readonly metaBadRecords = new Counter({ name: 'sightline_enricher_kube_meta_bad_records_total', help: 'kube-meta records that failed validation (skipped)', ...this.reg });
  readonly metaWaits = new Counter({ name: 'sightline_enricher_meta_waits_total', help: 'flow batches that waited for metadata, by outcome', labelNames: ['outcome'], ...this.reg });
  readonly storeWrites = new Counter({ name: 'sightline_enricher_store_writes_total', help: 'store writes (each of one or more batches)', ...this.reg });
  readonly storeErrors = new Counter({ name: 'sightline_enricher_store_errors_total', help: 'failed store writes (retried) and offset commits (carried by the next)', labelNames: ['op'], ...this.reg });
  readonly pendingRows = new Gauge({ name: 'sightline_enricher_pending_rows', help: 'rows attributed and not yet confirmed by the store', ...this.reg });
  readonly flowsLag = new Gauge({ name: 'sightline_enricher_flows_lag_messages', help: 'messages behind the partition end, per flows partition this process consumes', labelNames: ['partition'], ...this.reg });
  readonly metaLag = new Gauge({ name: 'sightline_enricher_kube_meta_lag_messages', help: 'kube-meta records not yet applied, per partition (as of the last check)', labelNames: ['partition'], ...this.reg });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'sightline_enricher_' });
  }
}

/** Adds one batch's attribution counts to the tenant's counters. */
export function countAttribution(m: EnricherMetrics, tenant: string, stats: AttributionStats): void {
  const t = { tenant };
  m.attributed.inc({ ...t, side: 'src' }, stats.attributedSrc);
  m.attributed.inc({ ...t, side: 'dst' }, stats.attributedDst);
  m.unattributed.inc({ ...t, side: 'src' }, stats.unattributedSrc);
  m.unattributed.inc({ ...t, side: 'dst' }, stats.unattributedDst);
  m.ambiguous.inc(t, stats.ambiguous);
  m.gkeFallback.inc(t, stats.gkeFallback);
  m.gkeDisagreements.inc(t, stats.gkeDisagreements);
}
