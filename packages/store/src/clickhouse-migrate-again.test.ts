import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from './clickhouse-store.js';

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
