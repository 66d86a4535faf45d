import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBatch } from '@sightline/flow';
import { ClickHouseStore, clickhouseMigrations, featuresFor, type FlowStore } from '@sightline/store';
import { EnricherConfig, parseConfig } from './config.js';
import { tableTtlDays } from './retention.js';
import {
  at, countFlows, createTopics, deleteTopics, enricherConfig, flowMessage, kubeMeta, progress, publish, publishKubeMeta, skipInfra, tempClickHouse, uniqueName, until, writeConfig,
} from './testdata/harness.js';
import { scrape, spawnEnricher } from './testdata/process.js';

const DAY = 86_400_000;

test('config: retention days per table, per tenant; today\'s defaults; unknown tiers and bad days rejected', () => {
  const base = enricherConfig('p.', 'g', { engine: 'duckdb', path: '/tmp/x.duckdb' });
  const d = parseConfig(base, 'test').retention;
  assert.deepEqual({ enabled: d.enabled, interval: d.intervalSeconds, first: d.firstRunSeconds, days: d.days, tenants: d.tenants }, { enabled: true, interval: 3600, first: 60, days: {}, tenants: {} });
  const c = parseConfig({ ...base, retention: { days: { flows: 7 }, tenants: { acme: { '1h': 30 } }, intervalSeconds: 600 } }, 'test').retention;
  assert.deepEqual({ days: c.days, tenants: c.tenants }, { days: { flows: 7 }, tenants: { acme: { '1h': 30 } } });
  assert.throws(() => parseConfig({ ...base, retention: { days: { raw: 7 } } }, 'f.json'), /retention\.days/);
  assert.throws(() => parseConfig({ ...base, retention: { tenants: { acme: { flows: -1 } } } }, 'f.json'), /retention\.tenants\.acme\.flows/);
  assert.ok(EnricherConfig.shape.retention);
});

/**
 * On ClickHouse 19.6+ the tables the enricher creates carry a table TTL, one for every tenant,
 * which the server applies by itself: it must be the longest of the configured days, not the
 * defaults, else a tenant kept 365 days (or a default raised to 90) is cut at 30 days anyway.
 */
test('config: the table TTL on servers with TTL is the longest configured days of each tier, every tenant included', () => {
  const base = enricherConfig('p.', 'g', { engine: 'duckdb', path: '/tmp/x.duckdb' });
  const cfg = parseConfig({ ...base, retention: { days: { '1h': 800, '1m': 7 }, tenants: { acme: { flows: 365 }, globex: { flows: 2 } } } }, 'test').retention;
  assert.deepEqual(tableTtlDays(cfg), { flows: 365, '1m': 7, '5m': 90, '1h': 800 });
  const sql = clickhouseMigrations('db', featuresFor('22.3.1', true), tableTtlDays(cfg)).flatMap((m) => m.statements).join('\n');
  assert.match(sql, /`flows` \([\s\S]*?TTL ts \+ INTERVAL 365 DAY/, 'raw flows: acme\'s 365 days');
  assert.match(sql, /`flows_1h` \([\s\S]*?TTL bucket \+ INTERVAL 800 DAY/, '1h rollup: the raised default');
  assert.match(sql, /`rollup_1h` \([\s\S]*?TTL bucket \+ INTERVAL 800 DAY/, '1h rollup keyed by service port (the one written since migration 8): the raised default');
  assert.match(sql, /`flows_landed` \([\s\S]*?TTL ts \+ INTERVAL 800 DAY/, 'landed rows: the longest ledger days');
  // disabled here (another process deletes by the same days): the TTL still keeps them
  assert.deepEqual(tableTtlDays({ ...cfg, enabled: false }), tableTtlDays(cfg));
});

/**
 * The enricher process applies retention by itself, per tenant: acme keeps its raw flows 2 days,
 * globex the default 30. Rows of 5 days ago (written before the enricher starts, as an older
 * deployment would have) go for acme only; both tenants' fresh flows, consumed through Kafka, stay.
 * Waits on the process's retention metric, not on time.
 */
test('enricher process: retention runs on its schedule; one tenant\'s expiry leaves another tenant\'s rows (ClickHouse)', { skip: skipInfra, timeout: 240_000 }, async () => {
  const prefix = `${uniqueName('retention')}.`;
  const group = uniqueName('g');
  const topics = await createTopics(prefix);
  const ch = tempClickHouse();
  if (ch.cfg.engine !== 'clickhouse') throw new Error('unreachable');
  const store: FlowStore = ClickHouseStore.open({ url: ch.cfg.url, database: ch.cfg.database });
  try {
    await store.migrate();
    const oldStart = Math.floor((Date.now() - 5 * DAY) / 1000) * 1000;
    for (const tenant of ['acme', 'globex']) {
      const m = flowMessage({ tenant, object: `old/${tenant}.log.gz`, seq: 0, rows: 300, startMs: oldStart, src: '10.0.1.22', dst: '172.20.0.10' });
      const { meta, batch } = decodeBatch(m.value);
      assert.deepEqual(await store.writeBatch(meta, batch), { written: true });
    }
    const oldRange = [oldStart, oldStart + 60_000] as const;
    assert.equal(await countFlows(store, 'acme', ...oldRange), 300);

    await publishKubeMeta(topics.kubeMeta, kubeMeta());
    const fresh = at('2026-11-26T10:10:00Z');
    await publish(topics.flows, ['acme', 'globex'].map((tenant) => flowMessage({ tenant, object: `new/${tenant}.log.gz`, seq: 0, rows: 200, startMs: fresh, src: '10.0.1.22', dst: '172.20.0.10' })));
    const cfg = { ...enricherConfig(prefix, group, ch.cfg), retention: { firstRunSeconds: 0, intervalSeconds: 3600, tenants: { acme: { flows: 2 } } } };
    const p = spawnEnricher(['--config', await writeConfig(cfg)]);
    try {
      const port = await p.started;
      await until('the first retention run', () => scrape(port, 'sightline_enricher_retention_runs_total{outcome="ok"}'), (n) => n >= 1, 90_000);
      await until('the group to commit every flow message', () => progress(group, topics.flows), (s) => s.end === 2 && s.committed === s.end, 90_000);
      assert.equal(await scrape(port, 'sightline_enricher_retention_deleted_rows_total{tier="flows"}'), 300, 'acme\'s 300 old raw rows');
      assert.ok((await scrape(port, 'sightline_enricher_retention_last_run_timestamp_seconds{tier="flows"}')) * 1000 > oldStart + 5 * DAY - 60_000, 'last run time');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.ok(!/retention[^\n]*(acme|globex)/.test(metrics), 'no tenant in the retention metrics');
    } finally {
      p.child.kill('SIGTERM');
    }
    assert.equal(await p.exited, 0, `graceful stop:\n${p.lines.slice(-10).join('\n')}`);
    assert.deepEqual(
      {
        acmeOld: await countFlows(store, 'acme', ...oldRange),
        globexOld: await countFlows(store, 'globex', ...oldRange),
        acmeNew: await countFlows(store, 'acme', fresh, fresh + 60_000),
        globexNew: await countFlows(store, 'globex', fresh, fresh + 60_000),
      },
      { acmeOld: 0, globexOld: 300, acmeNew: 200, globexNew: 200 },
    );
  } finally {
    await store.close();
    await deleteTopics(prefix);
    await ch.drop();
  }
});
