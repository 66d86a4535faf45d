import { startHttp, type RunningHttp } from '@sightline/service-kit';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Ingest metrics, by tenant and cluster where the request got that far (authenticated). */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly configReloads = new Counter({ name: 'sightline_api_config_reloads_total', help: 'configuration file reloads, by result (ok, invalid)', labelNames: ['result'], registers: [this.registry] });
  readonly requests = new Counter({ name: 'sightline_api_ingest_requests_total', help: 'kubetags ingest requests by HTTP status', labelNames: ['status'], registers: [this.registry] });
  readonly objects = new Counter({ name: 'sightline_api_ingest_objects_total', help: 'objects accepted (upserts and deletes) by kind of envelope', labelNames: ['tenant', 'cluster', 'envelope'], registers: [this.registry] });
  readonly records = new Counter({ name: 'sightline_api_kube_meta_records_total', help: 'records written to the kube-meta topic and acknowledged', labelNames: ['tenant', 'cluster'], registers: [this.registry] });
  readonly snapshots = new Counter({ name: 'sightline_api_snapshots_total', help: 'complete snapshots (marker written)', labelNames: ['tenant', 'cluster'], registers: [this.registry] });
  readonly rejected = new Counter({ name: 'sightline_api_ingest_rejected_total', help: 'rejected requests by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly seconds = new Histogram({ name: 'sightline_api_ingest_seconds', help: 'ingest request time, Kafka acknowledgement included', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  /** route is `ingest` or `query`, never the path (it holds a tenant name an unauthenticated caller chose) */
  readonly authFailures = new Counter({ name: 'sightline_api_auth_failures_total', help: 'requests refused before their body was read: missing-token, unknown-token, wrong-tenant, ingest-token, rate-limited', labelNames: ['route', 'reason'], registers: [this.registry] });
  readonly inflating = new Gauge({ name: 'sightline_api_ingest_inflating', help: 'gzip ingest bodies being inflated now', registers: [this.registry] });
  readonly inflateQueued = new Gauge({ name: 'sightline_api_ingest_inflate_queued', help: 'gzip ingest bodies waiting for an inflation slot', registers: [this.registry] });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'sightline_api_' });
  }
}

export type MetricsServer = RunningHttp;

/**
 * `/metrics` on a listener of its own (loopback by default): the series name tenants and
 * clusters, which the public port must not show to whoever asks. Short header and request
 * timeouts: a scrape is one small GET.
 */
export function startMetricsServer(host: string, port: number, registry: Registry): Promise<MetricsServer> {
  return startHttp(host, port, { registry }, undefined, { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
}
