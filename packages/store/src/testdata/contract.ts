import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchDiff, colIndex, FIELD_LIST, FLOW_SCHEMA_VERSION, type BatchMeta } from '@sightline/flow';
import { planTopN } from '../query-plan.js';
import type { FlowStore } from '../store.js';
import { metaFor, sampleBatch } from './sample.js';
import { enrichedBatch } from './synthetic.js';

/**
 * The behaviour both engines owe the rest of Sightline, run against each real engine by its
 * test file. `open` gives a migrated store on a fresh database, `reopen` a second store on the
 * same database.
 */
export function storeContract(name: string, open: () => Promise<FlowStore>): void {
  const HOUR = 3_600_000;
  const T0 = Date.UTC(2024, 10, 26, 8); // on an hour boundary

  test(`${name}: migrate twice is a no-op`, async () => {
    const s = await open();
    try {
      assert.deepEqual(await s.migrate(), []);
      assert.deepEqual(await s.migrate(), []);
    } finally {
      await s.close();
    }
  });

  test(`${name}: a batch reads back field for field, nulls and extra included`, async () => {
    const s = await open();
    try {
      const b = sampleBatch();
      const meta = metaFor('acme', 'sample/1', b.length);
      assert.deepEqual(await s.writeBatch(meta, b), { written: true });
      const back = await s.readBatch('acme', meta.id);
      assert.equal(back.length, b.length);
      // the store keeps times to the microsecond, the precision Sightline writes them out with (isoTime)
      for (const spec of FIELD_LIST) {
        const c = b.columns[colIndex(spec.name)];
        if (spec.kind === 'time' && c instanceof Float64Array) c.forEach((v, i) => (c[i] = Math.round(v * 1000) / 1000));
      }
      assert.equal(batchDiff(back, b), null);
    } finally {
      await s.close();
    }
  });

  test(`${name}: the same batch written twice counts once`, async () => {
    const s = await open();
    try {
      const b = enrichedBatch(3000, 7, T0, HOUR);
      const meta = metaFor('acme', 'dup/1', b.length);
      assert.deepEqual(await s.writeBatch(meta, b), { written: true });
      assert.deepEqual(await s.writeBatch(meta, b), { written: false });
      const q = { from: T0, to: T0 + HOUR, stepSeconds: 3600, metric: 'flows' as const };
      for (const use of ['raw', '1m', '1h'] as const) {
        const r = await s.timeSeries('acme', { ...q, use });
        assert.deepEqual(r.points, [{ t: T0, value: 3000 }], `table ${use}`);
      }
      assert.equal((await s.readBatch('acme', meta.id)).length, 3000);
    } finally {
      await s.close();
    }
  });

  test(`${name}: rollups agree with the raw table`, async () => {
    const s = await open();
    try {
      for (let k = 0; k < 3; k++) {
        const b = enrichedBatch(4000, 100 + k, T0 + k * 1_800_000, 2 * HOUR);
        await s.writeBatch(metaFor('acme', `agree/${k}`, b.length), b);
      }
      const range = { from: T0, to: T0 + 4 * HOUR };
      for (const metric of ['flows', 'packets', 'bytes'] as const) {
        const raw = await s.timeSeries('acme', { ...range, stepSeconds: 300, metric, use: 'raw' });
        assert.equal(raw.source, 'raw');
        assert.equal(raw.points.reduce((a, p) => a + (metric === 'flows' ? p.value : 0), 0), metric === 'flows' ? 12000 : 0);
        for (const use of ['1m', '5m'] as const) {
          const r = await s.timeSeries('acme', { ...range, stepSeconds: 300, metric, use });
          assert.deepEqual(r.points, raw.points, `${metric} from ${use}`);
        }
        const top = { ...range, metric, dimensions: ['dst_k8s_namespace', 'dst_k8s_workload'], n: 10 };
        const topRaw = await s.topN('acme', { ...top, use: 'raw' });
        assert.equal(topRaw.rows.length, 10);
        for (const use of ['1m', '5m', '1h'] as const) assert.deepEqual((await s.topN('acme', { ...top, use })).rows, topRaw.rows, `top ${metric} ${use}`);
        // auto picks the coarsest table able to answer
        assert.equal((await s.topN('acme', top)).source, '1h');
      }
      const filtered = { ...range, stepSeconds: 3600, filters: [{ field: 'service_port', values: [443, 53, null] }, { field: 'src_k8s_workload', values: ['svc-00', null] }] };
      const a = await s.timeSeries('acme', { ...filtered, use: 'raw' });
      const b = await s.timeSeries('acme', filtered);
      assert.equal(b.source, '1h');
      assert.ok(a.points.length > 0);
      assert.deepEqual(b.points, a.points);
      // a field the rollups do not carry sends the query to the raw table
      assert.equal((await s.topN('acme', { ...range, dimensions: ['src_k8s_pod'] })).source, 'raw');
      assert.equal((await s.topN('acme', { ...range, from: T0 + 60_000, dimensions: ['service_port'] })).source, '1m');
      // the service port: replies (a quarter of the records) fold onto the server's port, so the
      // rollups hold the few server ports (and null for the records without ports), and raw and
      // every rollup give the same answer, by it and by it with a filter
      for (const metric of ['flows', 'bytes'] as const) {
        const q = { ...range, metric, dimensions: ['service_port', 'dst_k8s_workload'], filters: [{ field: 'service_port', op: 'not_in' as const, values: [80] }], n: 10_000 };
        const raw = await s.topN('acme', { ...q, use: 'raw' });
        assert.ok(raw.rows.some((r) => r.key[0] === null), 'records without ports: service port null');
        assert.deepEqual(new Set(raw.rows.map((r) => r.key[0])), new Set([443, 53, 8080, 5432, 6379, 9092, 3306, 10250, 8443, 9090, null]));
        for (const use of ['1m', '5m', '1h'] as const) assert.deepEqual((await s.topN('acme', { ...q, use })).rows, raw.rows, `service_port ${metric} ${use}`);
      }
      // dst_port is no longer a rollup key (a reply's is the client's ephemeral port): the raw table answers it, exactly
      const byDst = { ...range, dimensions: ['dst_port'], filters: [{ field: 'dst_port', values: [443] }] };
      assert.equal((await s.topN('acme', byDst)).source, 'raw');
      assert.throws(() => planTopN('acme', { ...byDst, use: '1h' }), /rollup 1h cannot answer this query exactly/);
      assert.equal((await s.timeSeries('acme', { ...range, stepSeconds: 3600, filters: [{ field: 'dst_port', values: [443] }] })).source, 'raw');
    } finally {
      await s.close();
    }
  });

  test(`${name}: a tenant never reads another tenant's rows`, async () => {
    const s = await open();
    try {
      const b = enrichedBatch(2000, 9, T0, HOUR);
      const mA = metaFor('tenant-a', 'iso/1', b.length);
      const mB = metaFor('tenant-b', 'iso/1', b.length);
      await s.writeBatch(mA, b);
      await s.writeBatch(mB, b);
      const onlyB = enrichedBatch(500, 10, T0, HOUR);
      await s.writeBatch(metaFor('tenant-b', 'iso/2', onlyB.length), onlyB);
      for (const use of ['raw', '1h'] as const) {
        const q = { from: T0, to: T0 + HOUR, stepSeconds: 3600, metric: 'flows' as const, use };
        assert.deepEqual((await s.timeSeries('tenant-a', q)).points, [{ t: T0, value: 2000 }]);
        assert.deepEqual((await s.timeSeries('tenant-b', q)).points, [{ t: T0, value: 2500 }]);
      }
      assert.equal((await s.readBatch('tenant-a', mB.id)).length, 0);
      assert.equal((await s.readBatch('tenant-c', mA.id)).length, 0);
      // a tenant that smuggles SQL gets nothing and breaks nothing
      const evil = "tenant-a' OR '1'='1";
      assert.deepEqual((await s.timeSeries(evil, { from: T0, to: T0 + HOUR, stepSeconds: 3600, use: 'raw' })).points, []);
      await assert.rejects(s.timeSeries('', { from: T0, to: T0 + HOUR, stepSeconds: 60 }), /tenant is required/);
    } finally {
      await s.close();
    }
  });

  test(`${name}: retention drops old rows per table`, async () => {
    const s = await open();
    try {
      const now = new Date(Date.UTC(2025, 0, 31));
      const day = 86_400_000;
      const old = enrichedBatch(1000, 11, now.getTime() - 40 * day, HOUR); // past flows (30 d) and 1m (14 d)
      const mid = enrichedBatch(1000, 12, now.getTime() - 20 * day, HOUR); // past 1m only
      const fresh = enrichedBatch(1000, 13, now.getTime() - day, HOUR);
      await s.writeBatch(metaFor('acme', 'ret/old', 1000), old);
      await s.writeBatch(metaFor('acme', 'ret/mid', 1000), mid);
      await s.writeBatch(metaFor('acme', 'ret/fresh', 1000), fresh);
      await s.applyRetention(now);
      const all = { from: now.getTime() - 60 * day, to: now.getTime(), stepSeconds: 3600 * 24 * 60, metric: 'flows' as const };
      const sum = async (use: 'raw' | '1m' | '1h') => (await s.timeSeries('acme', { ...all, use })).points.reduce((a, p) => a + p.value, 0);
      assert.equal(await sum('raw'), 2000);
      assert.equal(await sum('1m'), 1000);
      assert.equal(await sum('1h'), 3000);
      assert.equal((await s.readBatch('acme', metaFor('acme', 'ret/old', 1000).id)).length, 0);
    } finally {
      await s.close();
    }
  });

  test(`${name}: bad input is rejected with a clear error`, async () => {
    const s = await open();
    try {
      const b = sampleBatch();
      const meta = metaFor('acme', 'bad/1', b.length);
      const newer: BatchMeta = { ...meta, schema: FLOW_SCHEMA_VERSION + 1 };
      await assert.rejects(s.writeBatch(newer, b), /flow schema 2, newer than this store's 1/);
      const { tenant: _t, ...noTenant } = meta;
      await assert.rejects(s.writeBatch(noTenant as BatchMeta, b), /invalid batch header \(tenant:/);
      await assert.rejects(s.writeBatch({ ...meta, tenant: '' }, b), /invalid batch header \(tenant:/);
      await assert.rejects(s.writeBatch({ ...meta, records: 3 }, b), /header says 3 records but the body has 9/);
      await assert.rejects(s.topN('acme', { from: T0, to: T0 + HOUR, dimensions: ['no_such_field'] }), /unknown flow field "no_such_field"/);
      // nothing of the rejected batch was stored, and a good write still works afterwards
      assert.equal((await s.readBatch('acme', meta.id)).length, 0);
      assert.deepEqual(await s.writeBatch(meta, b), { written: true });
    } finally {
      await s.close();
    }
  });
}
