import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from './clickhouse-store.js';
import { DuckDBStore } from './duckdb-store.js';
import { ledgerDays, RetentionScheduler, retentionPolicy } from './retention.js';
import type { FlowStore } from './store.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

const url = endpoints().clickhouseUrl;
const databases: string[] = [];
after(async () => {
  const c = createClient({ url });
  for (const db of databases) await c.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await c.close();
});

const DAY = 86_400_000;
const NOW = new Date(Date.UTC(2025, 0, 31));

test('policy: days complete the defaults, a tenant entry completes the days; bad input is rejected', () => {
  const p = retentionPolicy({ days: { flows: 10 }, tenants: { acme: { '1h': 30 } } });
  assert.deepEqual(p.default, { flows: 10, '1m': 14, '5m': 90, '1h': 400 });
  assert.deepEqual(p.tenants.acme, { flows: 10, '1m': 14, '5m': 90, '1h': 30 });
  assert.throws(() => retentionPolicy({ days: { flows: 0 } }));
  assert.throws(() => retentionPolicy({ tenants: { acme: { raw: 3 } as never } }));
});

test('ledger: kept as long as the longest tier, whichever it is (a 5m kept longer than 1h included)', () => {
  assert.equal(ledgerDays({ flows: 30, '1m': 14, '5m': 90, '1h': 400 }), 400);
  assert.equal(ledgerDays({ flows: 10, '1m': 14, '5m': 500, '1h': 30 }), 500);
  assert.equal(ledgerDays({ flows: 10, '1m': 60, '5m': 20, '1h': 30 }), 60);
});

for (const engine of ['duckdb', 'clickhouse'] as const) {
  const open = async (): Promise<FlowStore> => {
    if (engine === 'duckdb') return DuckDBStore.open({ path: ':memory:' });
    const database = `sightline_ret_${randomBytes(4).toString('hex')}`;
    databases.push(database);
    return ClickHouseStore.open({ url, database });
  };

  test(`${engine}: one tenant's expiry leaves another tenant's rows in place`, async () => {
    const s = await open();
    try {
      await s.migrate();
      // both tenants: rows of 10 days ago (kept by the default 30 days) and of yesterday
      for (const tenant of ['acme', 'globex']) {
        await s.writeBatch(metaFor(tenant, 'ret/old', 500), enrichedBatch(500, 1, NOW.getTime() - 10 * DAY, 3_600_000));
        await s.writeBatch(metaFor(tenant, 'ret/new', 500), enrichedBatch(500, 2, NOW.getTime() - DAY, 3_600_000));
      }
      const policy = retentionPolicy({ tenants: { acme: { flows: 5, '1h': 5 } } });
      const report = await s.applyRetention(NOW, policy);
      assert.equal(report.flows.rows, 500, 'acme: its 500 old raw rows');
      assert.ok(report['1h'].rows > 0, 'acme: its old 1h rows');
      assert.equal(report['1m'].rows, 0, '1m: nobody past 14 days');
      const all = { from: NOW.getTime() - 60 * DAY, to: NOW.getTime(), stepSeconds: 60 * 86_400, metric: 'flows' as const };
      const sum = async (tenant: string, use: 'raw' | '1m' | '1h'): Promise<number> =>
        (await s.timeSeries(tenant, { ...all, use })).points.reduce((a, p) => a + p.value, 0);
      assert.deepEqual(
        { acmeRaw: await sum('acme', 'raw'), acme1m: await sum('acme', '1m'), acme1h: await sum('acme', '1h'), globexRaw: await sum('globex', 'raw'), globex1h: await sum('globex', '1h') },
        { acmeRaw: 500, acme1m: 1000, acme1h: 500, globexRaw: 1000, globex1h: 1000 },
      );
      // the ledger keeps the longest tier's days per tenant: acme's 5m rollup (90 d by default) still
      // holds its old batch, so the entry stays (a redelivery would be added to that rollup again)
      assert.equal(report.ledger.rows, 0, 'acme\'s old ledger entry outlives its 5 days of raw and 1h: 5m keeps 90');
      const again = await s.applyRetention(NOW, policy);
      assert.equal(again.flows.rows + again['1h'].rows + again.ledger.rows, 0, 'a second run removes nothing');
      // every tier of acme at 5 days: its old entry goes, globex's stays (its old batch is still a repeat)
      const short = await s.applyRetention(NOW, retentionPolicy({ tenants: { acme: { flows: 5, '1m': 5, '5m': 5, '1h': 5 } } }));
      assert.equal(short.ledger.rows, 1, 'acme\'s old ledger entry');
      assert.deepEqual(await s.writeBatch(metaFor('globex', 'ret/old', 500), enrichedBatch(500, 1, NOW.getTime() - 10 * DAY, 3_600_000)), { written: false });
    } finally {
      await s.close();
    }
  });
}

test('scheduler: runs soon after start, then every interval; records the last run', async () => {
  const s = await DuckDBStore.open({ path: ':memory:' });
  await s.migrate();
  const reports: number[] = [];
  const sched = new RetentionScheduler({
    store: s,
    policy: retentionPolicy(),
    intervalMs: 20,
    firstRunDelayMs: 0,
    onRun: (r) => reports.push(r.flows.rows),
  }).start();
  try {
    // condition, not time: three runs happened (the deadline only bounds a hang)
    for (const deadline = Date.now() + 30_000; sched.status.runs < 3; ) {
      if (Date.now() > deadline) throw new Error(`3 retention runs expected: ${JSON.stringify(sched.status)}`);
      await new Promise((ok) => setImmediate(ok));
    }
    assert.equal(sched.status.failures, 0);
    assert.ok(sched.status.lastSuccessMs !== null);
  } finally {
    await sched.stop();
    await s.close();
  }
});
