import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from './clickhouse-store.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

const T0 = Date.UTC(2026, 10, 2, 0, 0, 0);
const HOUR = 3_600_000;

/**
 * ClickHouse DDL is not transactional: a migration whose statements ran but whose schema_migrations
 * row was never written (a crash in between, or a second enricher migrating the same database at
 * the same time) runs again. Every statement must survive that, ADD COLUMN included, which 18.16
 * cannot write IF NOT EXISTS (CI saw the second of two enrichers fail to start: "Cannot add column
 * resource_type: column with this name already exists").
 */
const url = endpoints().clickhouseUrl;
const databases: string[] = [];
const admin = createClient({ url });
after(async () => {
  for (const d of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${d}` });
  await admin.close();
});

const fresh = (): string => {
  const d = `sightline_migrate_again_${randomBytes(4).toString('hex')}`;
  databases.push(d);
  return d;
};

test('every migration runs again after its statements ran but before it was recorded', async () => {
  const database = fresh();
  const first = ClickHouseStore.open({ url, database });
  const all = await first.migrate();
  await first.close();
  assert.ok(all.length >= 5, `migrations applied: ${all.join(', ')}`);
  // the crash: everything applied, nothing recorded
  await admin.command({ query: `DROP TABLE ${database}.schema_migrations` });
  const again = ClickHouseStore.open({ url, database });
  try {
    assert.deepEqual(await again.migrate(), all, 'every migration ran again and is recorded');
    assert.deepEqual(await again.migrate(), [], 'and then none');
  } finally {
    await again.close();
  }
});

test('two stores migrating one new database at the same time both start', async () => {
  const database = fresh();
  const a = ClickHouseStore.open({ url, database });
  const b = ClickHouseStore.open({ url, database });
  try {
    const [ra, rb] = await Promise.allSettled([a.migrate(), b.migrate()]);
    assert.equal(ra.status, 'fulfilled', ra.status === 'rejected' ? String(ra.reason) : '');
    assert.equal(rb.status, 'fulfilled', rb.status === 'rejected' ? String(rb.reason) : '');
  } finally {
    await a.close();
    await b.close();
  }
});

test('migration 8 run again over rows (recorded row lost) fills the service-port rollups once', async () => {
  const database = fresh();
  const s = ClickHouseStore.open({ url, database });
  try {
    await s.migrate();
    for (let k = 0; k < 2; k++) {
      const b = enrichedBatch(3000, 70 + k, T0 + k * 600_000, HOUR);
      await s.writeBatch(metaFor('acme', `again/${k}`, b.length), b);
    }
    const sums = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const t of ['flows', 'rollup_1m', 'rollup_5m', 'rollup_1h']) {
        const [r] = (await (await admin.query({ query: `SELECT ${t === 'flows' ? 'count()' : 'sum(flows)'} AS n, sum(bytes) AS b FROM ${database}.${t}`, format: 'JSONEachRow' })).json()) as { n: string; b: string }[];
        out.push(`${t} ${r!.n}/${r!.b}`);
      }
      return out;
    };
    const before = await sums();
    assert.equal(new Set(before.map((x) => x.split(' ')[1])).size, 1, `every rollup holds the raw rows: ${before.join(', ')}`);
    // the crash: migration 8's statements ran, its row was never written
    await admin.command({ query: `ALTER TABLE ${database}.schema_migrations DELETE WHERE version = 8` });
    while (Number(((await (await admin.query({ query: `SELECT count() AS n FROM system.mutations WHERE database = '${database}' AND is_done = 0`, format: 'JSONEachRow' })).json()) as { n: string }[])[0]!.n) > 0) await new Promise((ok) => setImmediate(ok));
    const again = ClickHouseStore.open({ url, database });
    try {
      assert.deepEqual(await again.migrate(), [8]);
    } finally {
      await again.close();
    }
    assert.deepEqual(await sums(), before, 'the fill did not add the rows a second time');
  } finally {
    await s.close();
  }
});
