import { Counter, Gauge, type Registry } from 'prom-client';
import {
  RETENTION_TIERS, RetentionConfigSchema, RetentionScheduler, longestDays, retentionPolicy, type FlowStore, type RetentionConfig as StoreRetentionConfig, type RetentionDays, type RetentionReport,
} from '@sightline/store';
import { errField, type Logger } from './log.js';

/**
 * `retention` of the enricher configuration (RetentionConfigSchema of the store): days per table
 * (raw `flows` and each rollup), a default plus per-tenant overrides, applied by the enricher on a
 * schedule. ClickHouse 18.16 has no TTL, so without this the data is kept forever. Several
 * enrichers on one database each run it: the runs are idempotent (they only remove what is
 * expired), so that costs repeats, not data.
 */
export const RetentionConfig = RetentionConfigSchema;
export type RetentionConfig = StoreRetentionConfig;

/**
 * The TTL of the ClickHouse tables the enricher creates (servers 19.6+; 18.16 has none): the
 * longest days of each tier over the default and every tenant. A table TTL is one for all tenants
 * and deletes by itself: from the defaults (raw 30 days), it cut a tenant kept 365 days, or
 * `days.flows: 90`, at 30 days. The per-tenant deletes of the schedule remove what is due earlier.
 * Taken even when `enabled` is false (another process deletes by the same days).
 */
export function tableTtlDays(cfg: RetentionConfig): RetentionDays {
  return longestDays(retentionPolicy({ days: cfg.days, tenants: cfg.tenants }));
}

/** The tiers of a retention report: the raw table, each rollup, and the batch ledger. */
const TIERS = [...RETENTION_TIERS, 'ledger'] as const;

/**
 * Retention metrics, by tier only: tenants never appear in their labels (the days per tenant are
 * configuration, and a label per tenant would grow with them).
 */
export class RetentionMetrics {
  readonly lastRun: Gauge;
  readonly rows: Counter;
  readonly partitions: Counter;
  readonly runs: Counter;

  constructor(registry: Registry) {
    const reg = { registers: [registry] };
    this.lastRun = new Gauge({ name: 'sightline_enricher_retention_last_run_timestamp_seconds', help: 'end of the last successful retention run (unix seconds), per tier', labelNames: ['tier'], ...reg });
    this.rows = new Counter({ name: 'sightline_enricher_retention_deleted_rows_total', help: 'rows removed by retention (dropped partitions and deletes), per tier', labelNames: ['tier'], ...reg });
    this.partitions = new Counter({ name: 'sightline_enricher_retention_dropped_partitions_total', help: 'partitions dropped whole by retention (ClickHouse), per tier', labelNames: ['tier'], ...reg });
    this.runs = new Counter({ name: 'sightline_enricher_retention_runs_total', help: 'retention runs, by outcome', labelNames: ['outcome'], ...reg });
    for (const tier of TIERS) {
      this.rows.inc({ tier }, 0);
      this.partitions.inc({ tier }, 0);
    }
    for (const outcome of ['ok', 'failed']) this.runs.inc({ outcome }, 0);
  }

  record(report: RetentionReport, atMs: number): void {
    for (const tier of TIERS) {
      this.lastRun.set({ tier }, atMs / 1000);
      this.rows.inc({ tier }, report[tier].rows);
      this.partitions.inc({ tier }, report[tier].partitions);
    }
    this.runs.inc({ outcome: 'ok' });
  }
}

const byRegistry = new WeakMap<Registry, RetentionMetrics>();

/** Starts the schedule (null when disabled); `stop()` it before closing the store. */
export function startRetention(store: FlowStore, cfg: RetentionConfig, registry: Registry, log: Logger): RetentionScheduler | null {
  if (!cfg.enabled) return null;
  // one set per registry: an enricher started again with the same metrics reuses them
  let metrics = byRegistry.get(registry);
  if (!metrics) byRegistry.set(registry, (metrics = new RetentionMetrics(registry)));
  const policy = retentionPolicy({ days: cfg.days, tenants: cfg.tenants });
  return new RetentionScheduler({
    store,
    policy,
    intervalMs: cfg.intervalSeconds * 1000,
    firstRunDelayMs: cfg.firstRunSeconds * 1000,
    onRun: (report, status) => {
      metrics.record(report, status.lastSuccessMs ?? Date.now());
      log.info({ removed: report, tenantsWithOwnDays: Object.keys(policy.tenants).length }, 'retention applied');
    },
    onError: (err) => {
      metrics.runs.inc({ outcome: 'failed' });
      log.error({ err: errField(err) }, 'retention run failed (tried again at the next interval)');
    },
  }).start();
}
