import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DIMENSION_FIELDS, fromSearchParams, TimeSeriesRequest, toStoreTimeSeries, toStoreTopN, TopNRequest } from './query-schema.js';
import { isQueryField } from '@sightline/store';

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 10, 8);

test('query schema: every dimension names a flow field, for both ends where the issue asks', () => {
  for (const [d, f] of Object.entries(DIMENSION_FIELDS)) assert.ok(isQueryField(f), `${d} -> ${f}`);
  for (const k of ['cluster', 'namespace', 'workload', 'service', 'pod', 'node', 'addr', 'port'])
    for (const side of ['src', 'dst']) assert.ok(DIMENSION_FIELDS[`${side}_${k}`], `${side}_${k}`);
});

test('query schema: a GET query string reads as the JSON body', () => {
  const p = new URLSearchParams('from=2025-03-10T08:00:00Z&to=1741600800000&dimension=dst_namespace,dst_port&where.dst_port=443&where[dst_port]=80&where.action=ACCEPT&limit=5');
  assert.deepEqual(fromSearchParams(p), {
    from: '2025-03-10T08:00:00Z',
    to: 1741600800000,
    dimensions: ['dst_namespace', 'dst_port'],
    limit: 5,
    filters: [
      { dimension: 'dst_port', op: 'in', values: [443, 80] },
      { dimension: 'action', op: 'in', values: ['ACCEPT'] },
    ],
  });
});

test('query schema: ISO and epoch times, steps, and the rollup the store will use', () => {
  const ts = toStoreTimeSeries(TimeSeriesRequest.parse({ from: '2025-03-10T09:00:00+01:00', to: T0 + 6 * H, step: '1h' }));
  assert.deepEqual([ts.query.from, ts.query.to, ts.step, ts.rollup], [T0, T0 + 6 * H, 3600, '1h']);
  // no step: the smallest ladder width with at most 1000 points
  assert.equal(toStoreTimeSeries(TimeSeriesRequest.parse({ from: T0, to: T0 + 24 * H })).step, 300);
  assert.equal(toStoreTimeSeries(TimeSeriesRequest.parse({ from: T0, to: T0 + H })).step, 60);
  assert.equal(toStoreTimeSeries(TimeSeriesRequest.parse({ from: T0, to: T0 + H, step: 30 })).rollup, 'raw');
  const top = toStoreTopN(TopNRequest.parse({ from: T0, to: T0 + H, dimensions: ['src_workload'], filters: [{ dimension: 'dst_port', op: 'eq', value: 443 }] }));
  assert.deepEqual([top.rollup, top.query.dimensions, top.query.filters], ['1h', ['src_k8s_workload'], [{ field: 'dst_port', values: [443] }]]);
  assert.equal(toStoreTopN(TopNRequest.parse({ from: T0, to: T0 + H, dimensions: ['src_port'] })).rollup, 'raw');
  assert.throws(() => toStoreTopN(TopNRequest.parse({ from: T0, to: T0 + H, dimensions: ['dst_pod', 'dst_pod'] })), /named twice/);
});
