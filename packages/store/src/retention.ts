import { z } from 'zod';
import { DEFAULT_RETENTION_DAYS } from './schema.js';
import { TenantSchema } from './store.js';

/**
 * Retention per tenant: days for the raw table and for each rollup, a default plus per-tenant
 * overrides, applied by the services on a schedule (RetentionScheduler). ClickHouse 18.16 has no
 * table TTL, and the TTL of newer servers cannot differ by tenant, so the services delete.
 */

export const RETENTION_TIERS = ['flows', '1m', '5m', '1h'] as const;
export type RetentionTier = (typeof RETENTION_TIERS)[number];
export type RetentionDays = Record<RetentionTier, number>;

const days = z.number().positive().max(36_500);
export const RetentionDaysSchema = z.object({ flows: days, '1m': days, '5m': days, '1h': days }).strict();
const PartialDays = RetentionDaysSchema.partial();

/** As configured: `days` completes today's defaults; a tenant's entry completes `days`. */
export const RetentionPolicySchema = z
  .object({
    days: PartialDays.default({}),
    tenants: z.record(TenantSchema, PartialDays).default({}),
  })
  .strict();
export type RetentionPolicyInput = z.input<typeof RetentionPolicySchema>;

/**
 * The `retention` section of a service's configuration (the enricher's, and the embedded
 * `sightline.json`): the policy and the schedule that applies it.
 */
export const RetentionConfigSchema = z
  .object({
    /** false: this process never deletes (another one does it) */
    enabled: z.boolean().default(true),
    /** between the end of one run and the start of the next */
    intervalSeconds: z.number().min(1).max(7 * 86_400).default(3600),
    /** the first run, after start-up: soon, so a process restarted often still applies it */
    firstRunSeconds: z.number().min(0).max(86_400).default(60),
    ...RetentionPolicySchema.shape,
  })
  .strict()
  .prefault({});
export type RetentionConfig = z.output<typeof RetentionConfigSchema>;

export interface RetentionPolicy {
  readonly default: RetentionDays;
  readonly tenants: Readonly<Record<string, RetentionDays>>;
}

export function retentionPolicy(input: RetentionPolicyInput = {}): RetentionPolicy {
  const p = RetentionPolicySchema.parse(input);
  const def: RetentionDays = { ...DEFAULT_RETENTION_DAYS, ...p.days };
  const tenants: Record<string, RetentionDays> = {};
  for (const [t, d] of Object.entries(p.tenants)) tenants[t] = { ...def, ...d };
  return { default: def, tenants };
}

/**
 * The longest days of each tier over the default and every tenant: the table TTL a ClickHouse
 * 19.6+ server is given at creation. The TTL is one per table (it cannot differ by tenant) and
 * deletes on its own, so it must not be shorter than any tenant's days; the scheduler's per-tenant
 * deletes remove what is due earlier.
 */
export function longestDays(p: RetentionPolicy): RetentionDays {
  const out: RetentionDays = { ...p.default };
  for (const d of Object.values(p.tenants)) for (const t of RETENTION_TIERS) out[t] = Math.max(out[t], d[t]);
  return out;
}

/** The policy of a store configured with one set of days for everyone (the stores' `retentionDays`). */
export const uniformPolicy = (d: RetentionDays): RetentionPolicy => ({ default: { ...d }, tenants: {} });

/**
 * Days of the batch ledger (and ClickHouse's per-batch row counts): the ledger must outlive the
 * rows and every rollup, else a batch redelivered (or backfilled again) after its entry expired
 * would be added again to the rollups still holding it. Every tier, not only `1h`: the days are
 * configurable, and a `5m` kept longer than `1h` was doubled by such a batch.
 */
export const ledgerDays = (d: RetentionDays): number => Math.max(...RETENTION_TIERS.map((t) => d[t]));

/**
 * One table's cut-offs: each overridden tenant with its own, everyone else with the default.
 * `longest` is the earliest cut-off of all: what is older than it is expired for every tenant.
 */
export interface TenantCutoffs {
  readonly tenants: readonly { tenant: string; before: Date }[];
  readonly others: Date;
  readonly earliest: Date;
}

export function cutoffs(policy: RetentionPolicy, now: Date, pick: (d: RetentionDays) => number): TenantCutoffs {
  const at = (d: number): Date => new Date(now.getTime() - d * 86_400_000);
  const tenants = Object.entries(policy.tenants).map(([tenant, d]) => ({ tenant, before: at(pick(d)) }));
  const others = at(pick(policy.default));
  const earliest = new Date(Math.min(others.getTime(), ...tenants.map((t) => t.before.getTime())));
  return { tenants, others, earliest };
}

/** What one run removed, per tier (`ledger`: batch ledger entries and their bookkeeping). */
export type RetentionReport = Record<RetentionTier | 'ledger', { rows: number; partitions: number }>;

export const emptyReport = (): RetentionReport => ({
  flows: { rows: 0, partitions: 0 },
  '1m': { rows: 0, partitions: 0 },
  '5m': { rows: 0, partitions: 0 },
  '1h': { rows: 0, partitions: 0 },
  ledger: { rows: 0, partitions: 0 },
});

export interface RetentionStatus {
  /** runs finished, successful or not */
  runs: number;
  failures: number;
  /** end of the last successful run (epoch ms), null before the first */
  lastSuccessMs: number | null;
  /** what every successful run removed so far */
  removed: RetentionReport;
}

export interface RetentionSchedulerOptions {
  store: { applyRetention(now?: Date, policy?: RetentionPolicy): Promise<RetentionReport> };
  policy: RetentionPolicy;
  /** between the end of one run and the start of the next */
  intervalMs: number;
  /** after start(): soon, so a process that restarts often still applies it */
  firstRunDelayMs: number;
  onRun?: (report: RetentionReport, status: Readonly<RetentionStatus>) => void;
  onError?: (err: unknown) => void;
}

/**
 * Runs `applyRetention` on a timer, one run at a time. A failed run is reported and the next
 * one is tried at the next interval (retention is idempotent: it only removes what is expired).
 */
export class RetentionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  readonly status: RetentionStatus = { runs: 0, failures: 0, lastSuccessMs: null, removed: emptyReport() };

  private policy: RetentionPolicy;

  constructor(private readonly o: RetentionSchedulerOptions) {
    this.policy = o.policy;
  }

  /** New days (a configuration reload): the next run applies them. */
  setPolicy(policy: RetentionPolicy): void {
    this.policy = policy;
  }

  start(): this {
    this.schedule(this.o.firstRunDelayMs);
    return this;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.schedule(this.o.intervalMs);
      });
    }, ms);
    // the schedule alone does not keep a process alive
    this.timer.unref();
  }

  private async runOnce(): Promise<void> {
    try {
      const report = await this.o.store.applyRetention(new Date(), this.policy);
      for (const k of Object.keys(report) as (keyof RetentionReport)[]) {
        this.status.removed[k].rows += report[k].rows;
        this.status.removed[k].partitions += report[k].partitions;
      }
      this.status.lastSuccessMs = Date.now();
      this.status.runs++;
      this.o.onRun?.(report, this.status);
    } catch (err) {
      this.status.runs++;
      this.status.failures++;
      this.o.onError?.(err);
    }
  }

  /** No run starts after this; a run in progress is waited for. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
