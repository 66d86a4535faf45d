import type { Metric, RollupSpec } from './schema.js';
import {
  AggregateQuerySchema,
  checkTenant,
  chooseRollup,
  parseQuery,
  TimeSeriesQuerySchema,
  TopNQuerySchema,
  type AggregateQuery,
  type Filter,
  type TimeSeriesQuery,
  type TopNQuery,
} from './store.js';

/**
 * One read, decided once for both engines: the checked tenant, the validated query with its
 * defaults, and the table that answers (the coarsest rollup that answers exactly, or raw). The
 * engines only write their SQL from it, so they cannot differ on which table answers or on what
 * they accept.
 */
export interface ReadPlan {
  tenant: string;
  /** epoch ms, inclusive / exclusive */
  from: number;
  to: number;
  metric: Metric;
  filters: Filter[];
  /** grouping keys, in answer order (empty for a time series) */
  dimensions: string[];
  /** rows kept (top-N, aggregate) */
  n: number;
  rollup: RollupSpec | null;
  /** the table that answered, as results name it */
  source: RollupSpec['name'] | 'raw';
}

export interface TimeSeriesPlan extends ReadPlan {
  stepSeconds: number;
}

function plan(tenant: string, q: { from: number; to: number; metric: Metric; filters: Filter[]; use: 'auto' | 'raw' | RollupSpec['name'] }, dimensions: string[], n: number, stepSeconds?: number): ReadPlan {
  const rollup = chooseRollup([...dimensions, ...q.filters.map((f) => f.field)], q.from, q.to, stepSeconds, q.use);
  return { tenant: checkTenant(tenant), from: q.from, to: q.to, metric: q.metric, filters: q.filters, dimensions, n, rollup, source: rollup?.name ?? 'raw' };
}

export function planTimeSeries(tenant: string, query: TimeSeriesQuery): TimeSeriesPlan {
  checkTenant(tenant);
  const q = parseQuery(TimeSeriesQuerySchema, query, 'timeSeries');
  return { ...plan(tenant, q, [], 0, q.stepSeconds), stepSeconds: q.stepSeconds };
}

export function planTopN(tenant: string, query: TopNQuery): ReadPlan {
  checkTenant(tenant);
  const q = parseQuery(TopNQuerySchema, query, 'topN');
  return plan(tenant, q, q.dimensions, q.n);
}

export function planAggregate(tenant: string, query: AggregateQuery): ReadPlan {
  checkTenant(tenant);
  const q = parseQuery(AggregateQuerySchema, query, 'aggregate');
  return plan(tenant, q, q.dimensions, q.n);
}
