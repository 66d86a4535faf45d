import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planAggregate, planTimeSeries, planTopN } from './query-plan.js';

// The read plan both engines write their SQL from: the table choice and the defaults are made here once.
const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 10);

test('plan: the coarsest table that answers exactly, the defaults filled, the tenant checked', () => {
  const hourly = planTopN('acme', { from: T0, to: T0 + 2 * H, dimensions: ['dst_k8s_workload'] });
  assert.deepEqual([hourly.source, hourly.tenant, hourly.metric, hourly.n, hourly.filters], ['1h', 'acme', 'bytes', 10, []]);
  assert.equal(planTopN('acme', { from: T0, to: T0 + 2 * H, dimensions: ['src_port'] }).source, 'raw');
  assert.equal(planTopN('acme', { from: T0 + 60_000, to: T0 + 2 * H, dimensions: ['dst_k8s_workload'] }).source, '1m');
  // a filter's field counts like a dimension
  assert.equal(planAggregate('acme', { from: T0, to: T0 + H, dimensions: ['dst_k8s_workload'], filters: [{ field: 'src_port', values: [443] }] }).source, 'raw');
  const ts = planTimeSeries('acme', { from: T0, to: T0 + 2 * H, stepSeconds: 300 });
  assert.deepEqual([ts.source, ts.stepSeconds, ts.dimensions], ['5m', 300, []]);
  assert.equal(planAggregate('acme', { from: T0, to: T0 + H, dimensions: ['dst_k8s_workload', 'src_k8s_workload'] }).n, 1000);
});

test('plan: what no engine may run is refused before either sees it', () => {
  assert.throws(() => planTopN('', { from: T0, to: T0 + H, dimensions: ['dst_k8s_workload'] }), /tenant is required/);
  assert.throws(() => planTopN('acme', { from: T0, to: T0, dimensions: ['dst_k8s_workload'] }), /time range is empty/);
  assert.throws(() => planTopN('acme', { from: T0, to: T0 + H, dimensions: ['nope'] }), /unknown flow field/);
  assert.throws(() => planTimeSeries('acme', { from: T0, to: T0 + H, stepSeconds: 90, use: '1h' }), /rollup 1h cannot answer/);
});

test('plan: the rollups answer by service port; dst_port (the ephemeral port of a reply) goes to the raw table', () => {
  assert.equal(planTopN('acme', { from: T0, to: T0 + 2 * H, dimensions: ['service_port'] }).source, '1h');
  assert.equal(planTimeSeries('acme', { from: T0, to: T0 + 2 * H, stepSeconds: 3600, filters: [{ field: 'service_port', values: [443, null] }] }).source, '1h');
  assert.equal(planTopN('acme', { from: T0, to: T0 + 2 * H, dimensions: ['dst_port'] }).source, 'raw');
  assert.equal(planTimeSeries('acme', { from: T0, to: T0 + 2 * H, stepSeconds: 3600, filters: [{ field: 'dst_port', values: [443] }] }).source, 'raw');
  assert.throws(() => planTopN('acme', { from: T0, to: T0 + 2 * H, dimensions: ['dst_port'], use: '1h' }), /rollup 1h cannot answer/);
  // a number, so prefix and cidr do not apply
  assert.throws(() => planTopN('acme', { from: T0, to: T0 + 2 * H, dimensions: ['service_port'], filters: [{ field: 'service_port', op: 'prefix', values: ['44'] }] }), /prefix applies to string fields/);
});
