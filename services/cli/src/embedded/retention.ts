import { RetentionScheduler, retentionPolicy, type FlowStore, type RetentionConfig } from '@sightline/store';

/**
 * The embedded pipeline's retention: the `retention` section of `sightline.json` (the same as the
 * enricher's: days per table, per-tenant overrides, schedule), applied to the DuckDB store while
 * `sightline start` serves. Its status (runs, last successful run, rows removed per tier) is the
 * embedded mode's metric: there is no metrics listener in the one-process mode.
 */
export function startEmbeddedRetention(store: FlowStore, cfg: RetentionConfig, warn: (line: string) => void): RetentionScheduler | null {
  if (!cfg.enabled) return null;
  return new RetentionScheduler({
    store,
    policy: retentionPolicy({ days: cfg.days, tenants: cfg.tenants }),
    intervalMs: cfg.intervalSeconds * 1000,
    firstRunDelayMs: cfg.firstRunSeconds * 1000,
    onError: (err) => warn(`retention run failed (tried again in ${cfg.intervalSeconds} s): ${err instanceof Error ? err.message : String(err)}`),
  }).start();
}
