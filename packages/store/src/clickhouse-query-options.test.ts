import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from './clickhouse-store.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// QueryOptions against the real local ClickHouse: an aborted read rejects, a generous limit answers as before.
const url = endpoints().clickhouseUrl;

test('clickhouse: a read with a signal that aborts rejects; with a time limit it answers the same', async (t) => {
  const database = `sightline_test_${randomBytes(4).toString('hex')}_qo`;
  const s = ClickHouseStore.open({ url, database });
  t.after(async () => {
    await s.close();
    const c = createClient({ url });
    await c.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await c.close();
  });
  await s.migrate();
  const T0 = Date.UTC(2024, 10, 26, 8);
  const b = enrichedBatch(2000, 11, T0, 3_600_000);
  await s.writeBatch(metaFor('acme', 'qo/1', b.length), b);
  const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const, use: 'raw' as const };
  const plain = await s.timeSeries('acme', q);
  assert.deepEqual(plain.points, [{ t: T0, value: 2000 }]);
  assert.deepEqual(await s.timeSeries('acme', q, { timeoutMs: 30_000 }), plain);
  const ac = new AbortController();
  ac.abort(new Error('deadline'));
  await assert.rejects(s.topN('acme', { ...q, dimensions: ['dst_k8s_workload'] }, { signal: ac.signal }));
});
