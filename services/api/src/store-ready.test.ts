import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClickHouseStore, DuckDBStore, openStore, type FlowStore } from '@sightline/store';
import { endpoints } from '@sightline/testkit';
import { ApiConfigSchema, type ApiConfig } from './config.js';
import { createLogger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { startApi } from './service.js';
import { hashToken } from './tokens.js';
import { dropTopic } from './testdata/kafka.js';

/**
 * Issue 10, point 12: the API starts before the writer (enricher, embedded pipeline) has created
 * the store's schema. Until it has, /readyz says not ready with the reason and queries answer 503
 * (not 500); once the writer migrated, both turn ready without a restart. Both engines, for real.
 */

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function notReadyThenReady(t: { after(fn: () => unknown): void }, store: NonNullable<ApiConfig['query']>['store'], writer: (config: ApiConfig) => Promise<FlowStore>): Promise<void> {
  const run = randomBytes(4).toString('hex');
  const dir = mkdtempSync(path.join(tmpdir(), 'api-ready-'));
  const reader = randomBytes(24).toString('base64url');
  writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify({ clusters: [], readers: [{ tokenSha256: hashToken(reader), tenant: 'acme' }] }));
  const config = ApiConfigSchema.parse({
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { port: 0 },
    tokensFile: path.join(dir, 'tokens.json'),
    kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: `test-api-ready-${run}.` },
    query: { store },
    logLevel: 'silent',
  });
  const api = await startApi(config, { log: createLogger({ level: 'silent' }), metrics: new ApiMetrics(false) });
  t.after(async () => {
    await api.stop();
    await dropTopic(api.publisher.topic);
    rmSync(dir, { recursive: true, force: true });
  });
  const q = `${api.url}/v1/query/topn?dimension=dst_workload&from=2025-03-10T00:00:00Z&to=2025-03-10T01:00:00Z`;
  const auth = { authorization: `Bearer ${reader}` };

  const ready = await fetch(`${api.url}/readyz`);
  const body = (await ready.json()) as { status: string; reasons?: string[] };
  assert.equal(ready.status, 503, JSON.stringify(body));
  assert.ok(body.reasons?.some((r) => /^store: the store has no (schema|migration)/.test(r)), JSON.stringify(body));
  const early = await fetch(q, { headers: auth });
  const earlyBody = (await early.json()) as { error?: string };
  assert.deepEqual([early.status, earlyBody.error], [503, 'store-not-ready']);
  assert.ok(early.headers.get('retry-after'), 'Retry-After');
  // no token still comes first
  assert.equal((await fetch(q)).status, 401);

  const w = await writer(config);
  try {
    await w.migrate();
  } finally {
    await w.close();
  }
  await until('/readyz ready after the migration', async () => (await fetch(`${api.url}/readyz`)).status === 200);
  const later = await fetch(q, { headers: auth });
  assert.equal(later.status, 200, await later.text());
}

test('readiness: a DuckDB file without its schema is not ready and queries answer 503 until the writer migrates it', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-ready-duck-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'flows.duckdb');
  // the writer opens the file as the runner did (one DuckDB instance per file and configuration in a process)
  await notReadyThenReady(t, { engine: 'duckdb', path: file, connections: 1 }, (c) => DuckDBStore.open({ path: file, memoryLimit: c.query!.limits.duckdb.memoryLimit }));
});

test('readiness: a ClickHouse database that does not exist yet is not ready and queries answer 503 until the writer migrates it', { skip, timeout: 120_000 }, async (t) => {
  const url = endpoints().clickhouseUrl;
  const database = `test_api_ready_${randomBytes(4).toString('hex')}`;
  t.after(() => fetch(url, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }));
  await notReadyThenReady(t, { engine: 'clickhouse', url, database, username: 'default' }, async () => ClickHouseStore.open({ url, database }));
});

test('readiness: a ClickHouse store over HTTPS (CA file, password file) turns ready: the probe opens the store as the runner does', { skip, timeout: 120_000 }, async (t) => {
  // the local server's HTTPS port, self-signed certificate and user "sightline" (infra/local/services/clickhouse.sh)
  const ep = endpoints();
  const caFile = process.env.SIGHTLINE_CLICKHOUSE_CA_FILE ?? path.join(ep.dataDir, 'clickhouse', 'tls', 'server.crt');
  const passwordFile = process.env.SIGHTLINE_CLICKHOUSE_PASSWORD_FILE ?? path.join(ep.dataDir, 'clickhouse', 'secrets', 'sightline.password');
  assert.ok(existsSync(caFile) && existsSync(passwordFile), `run \`pnpm infra:up clickhouse\`: ${caFile} and ${passwordFile} are made there`);
  const database = `test_api_ready_tls_${randomBytes(4).toString('hex')}`;
  t.after(() => fetch(ep.clickhouseUrl, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }));
  const store = {
    engine: 'clickhouse' as const,
    url: process.env.SIGHTLINE_CLICKHOUSE_HTTPS_URL ?? 'https://127.0.0.1:8443',
    database, username: 'sightline', passwordFile, tls: { caFile },
  };
  await notReadyThenReady(t, store, () => openStore(store));
});
