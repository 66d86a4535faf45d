import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from '@sightline/store';
import { call, consoleContract, deadlineCheck, fairnessCheck, heavyRowsSql, HOUR, metaFor, queryContract, seed, seedRows, serve, T0, toBatch, TOKENS } from './query-contract.test.js';
import type { QueryLimits } from './query-limiter.js';
import { ClickHouseRunner } from './query-runner.js';

// The query API over the real local ClickHouse (`pnpm infra:up`): one database per test, all dropped at the end.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const url = endpoints().clickhouseUrl;
const run = `sightline_apiq_${randomBytes(4).toString('hex')}`;
const databases: string[] = [];
let n = 0;

after(async () => {
  if (databases.length === 0) return;
  // the server's HTTP interface directly: the api does not depend on the ClickHouse client
  for (const db of databases) await fetch(url, { method: 'POST', body: `DROP DATABASE IF EXISTS ${db}` });
});

async function fresh(limits: Partial<QueryLimits> = {}, heavyRows = 0) {
  const database = `${run}_${n++}`;
  databases.push(database);
  const writer = ClickHouseStore.open({ url, database });
  await writer.migrate();
  const seeded = await seed(writer, database);
  // rows without a cloud: the raw table that holds them is the wide one (store migration 9; flows is a view)
  if (heavyRows > 0) await writer.client.command({ query: heavyRowsSql(heavyRows, `${database}.flows_wide`, 'clickhouse') });
  const runner = await ClickHouseRunner.open({ url, database }, { limits });
  return {
    runner,
    seeded,
    writer,
    close: async () => {
      await runner.close();
      await writer.close();
    },
  };
}

if (!skip) {
  queryContract('clickhouse', () => fresh());
  consoleContract('clickhouse', () => fresh());
}

test('clickhouse: an impossible deadline answers 504 (request aborted, max_execution_time set) and the next query answers', { skip }, async () => {
  const { runner, writer, close } = await fresh();
  try {
    const rows = seedRows(60_000, 9, T0, 2 * HOUR, ['shop']);
    const batch = toBatch(rows, 'prod-a');
    await writer.writeBatch(metaFor('acme', 'heavy/1', batch.length), batch);
    await deadlineCheck(runner);
  } finally {
    await close();
  }
});

test('clickhouse: 200 abandoned heavy queries of tenant A: B is admitted at once, A\'s leave the queue unrun or are killed (gone from system.processes)', { skip, timeout: 600_000 }, async () => {
  const { runner, writer, close } = await fresh({ concurrent: 4, perTenant: 2, queuePerTenant: 200 }, 1_000_000);
  try {
    await fairnessCheck(runner, 200, (ids) => writer.running(ids));
  } finally {
    await close();
  }
});

test('clickhouse: a query over max_rows_to_read answers 422 too-large (a per-query limit), not 500', { skip }, async () => {
  const { runner, close } = await fresh({ clickhouse: { maxMemoryUsage: 2 * 1024 ** 3, maxRowsToRead: 100, readOverflowMode: 'throw', maxThreads: 'auto' } });
  const srv = await serve(runner, 30_000);
  try {
    // a rollup read: 18.16 does not apply max_rows_to_read to the raw table's FINAL reads (newer servers do)
    const r = await call(srv.url, 'POST', '/v1/query/topn', TOKENS.readA, { from: T0, to: T0 + 2 * HOUR, resolution: '1m', dimensions: ['dst_namespace', 'dst_workload'] });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error, 'too-large');
    assert.match(r.body.message!, /rows read limit/);
  } finally {
    await srv.close();
    await close();
  }
});

test('clickhouse: each statement takes at most half the server\'s threads by default (auto), so another tenant finds the other half; a number or 0 overrides', { skip }, async () => {
  const auto = await fresh({});
  const fixed = await fresh({ clickhouse: { maxMemoryUsage: 2 * 1024 ** 3, maxRowsToRead: 0, readOverflowMode: 'throw', maxThreads: 3 } });
  try {
    const server = await auto.writer.serverMaxThreads();
    assert.ok(server >= 1);
    assert.equal(await auto.runner.maxThreads(), Math.max(1, Math.floor(server / 2)));
    assert.equal(await fixed.runner.maxThreads(), 3);
  } finally {
    await auto.close();
    await fixed.close();
  }
});
