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
  const top = toStoreTopN(TopNRequest.parse({ from: T0, to: T0 + H, dimensions: ['src_workload'], filters: [{ dimension: 'service_port', op: 'eq', value: 443 }] }));
  assert.deepEqual([top.rollup, top.query.dimensions, top.query.filters], ['1h', ['src_k8s_workload'], [{ field: 'service_port', values: [443] }]]);
  // dst_port is no longer a rollup key (a reply's is an ephemeral port): the raw table answers it
  const byDst = toStoreTopN(TopNRequest.parse({ from: T0, to: T0 + H, dimensions: ['src_workload'], filters: [{ dimension: 'dst_port', op: 'eq', value: 443 }] }));
  assert.deepEqual([byDst.rollup, byDst.query.filters], ['raw', [{ field: 'dst_port', values: [443] }]]);
  assert.equal(toStoreTopN(TopNRequest.parse({ from: T0, to: T0 + H, dimensions: ['src_port'] })).rollup, 'raw');
  assert.throws(() => toStoreTopN(TopNRequest.parse({ from: T0, to: T0 + H, dimensions: ['dst_pod', 'dst_pod'] })), /named twice/);
});

test('query schema: relative times resolve against the arrival, rounded to the second, and /m /h /d round down', () => {
  const now = Date.UTC(2026, 11, 2, 6, 37, 41, 512);
  const sec = Date.UTC(2026, 11, 2, 6, 37, 41);
  const at = (from: string, to: string) => {
    const q = toStoreTopN(TopNRequest.parse({ from, to, dimensions: ['dst_namespace'] }), now).query;
    return [q.from, q.to];
  };
  assert.deepEqual(at('now-1h', 'now'), [sec - H, sec]);
  assert.deepEqual(at('now-7d', 'now-30s'), [sec - 7 * 24 * H, sec - 30_000]);
  assert.deepEqual(at('now-2w', 'now-15m'), [sec - 14 * 24 * H, sec - 15 * 60_000]);
  assert.deepEqual(at('now-24h/h', 'now/h'), [Date.UTC(2026, 11, 1, 6), Date.UTC(2026, 11, 2, 6)]);
  assert.deepEqual(at('now/d', 'now/m'), [Date.UTC(2026, 11, 2), Date.UTC(2026, 11, 2, 6, 37)]);
  // rounded to whole hours, the 1h rollup answers a relative day
  assert.equal(toStoreTopN(TopNRequest.parse({ from: 'now-24h/h', to: 'now/h', dimensions: ['dst_namespace'] }), now).rollup, '1h');
  for (const bad of ['now-', 'now-1', 'now+1h', 'now-1y', 'now-0h', 'now/s', 'now-1h/w', 'NOW', 'now - 1h']) assert.equal(TopNRequest.safeParse({ from: bad, to: 'now', dimensions: ['dst_namespace'] }).success, false, bad);
  assert.throws(() => toStoreTopN(TopNRequest.parse({ from: 'now', to: 'now-1h', dimensions: ['dst_namespace'] }), now), /range is empty/);
});

test('query schema: GET where.<dimension>.<op>: ne/prefix/cidr each a filter, in and not_in repeated as one', () => {
  const p = new URLSearchParams('from=now-1h&to=now&where.dst_namespace.not_in=a&where.dst_namespace.not_in=b&where[src_addr][cidr]=10.0.0.0/8&where.dst_port.ne=53&where.dst_workload.prefix=api-&where.action=accept');
  assert.deepEqual(fromSearchParams(p), {
    from: 'now-1h',
    to: 'now',
    filters: [
      { dimension: 'dst_namespace', op: 'not_in', values: ['a', 'b'] },
      { dimension: 'src_addr', op: 'cidr', value: '10.0.0.0/8' },
      { dimension: 'dst_port', op: 'ne', value: 53 },
      { dimension: 'dst_workload', op: 'prefix', value: 'api-' },
      { dimension: 'action', op: 'in', values: ['accept'] },
    ],
  });
  // eq/ne are the store's in/not_in of one value; the new dimensions map to the derived fields
  const top = toStoreTopN(TopNRequest.parse({ from: T0, to: T0 + H, dimensions: ['region', 'network'], filters: [{ dimension: 'dst_port', op: 'ne', value: 53 }, { dimension: 'cloud', op: 'eq', value: 'AWS' }] }));
  assert.deepEqual([top.rollup, top.query.dimensions, top.query.filters], ['raw', ['net_region', 'net_network'], [{ field: 'dst_port', op: 'not_in', values: [53] }, { field: 'cloud', values: ['aws'] }]]);
});
