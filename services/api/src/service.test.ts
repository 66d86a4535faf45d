import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBStore } from '@sightline/store';
import { endpoints } from '@sightline/testkit';
import { ApiConfigSchema } from './config.js';
import { createLogger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { startApi } from './service.js';
import { hashToken } from './tokens.js';

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

/**
 * The process wiring (what `main.ts` runs): with a `query` section the service opens the store
 * and serves the query routes; without one they answer 503 (ingest-only deployment).
 */
test('startApi opens the configured store for the query routes, and closes it on stop', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-service-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const reader = randomBytes(24).toString('base64url');
  const tokensFile = path.join(dir, 'tokens.json');
  writeFileSync(tokensFile, JSON.stringify({ clusters: [], readers: [{ tokenSha256: hashToken(reader), tenant: 'acme', name: 'dash' }] }));
  const base = {
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { port: 0 },
    tokensFile,
    kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: `test-api-svc-${randomBytes(4).toString('hex')}.` },
    logLevel: 'silent',
  };
  const log = createLogger({ level: 'silent' });
  const q = `/v1/query/topn?dimension=dst_workload&from=${encodeURIComponent('2025-03-10T00:00:00Z')}&to=${encodeURIComponent('2025-03-10T01:00:00Z')}`;
  const auth = { authorization: `Bearer ${reader}` };

  // the writer (enricher, embedded pipeline) owns the schema: migrate as it would before the API reads
  const file = path.join(dir, 'flows.duckdb');
  const config = ApiConfigSchema.parse({ ...base, query: { store: { engine: 'duckdb', path: file } } });
  // one DuckDB instance per file and configuration in a process: the writer opens it as the runner will
  const writer = await DuckDBStore.open({ path: file, memoryLimit: config.query!.limits.duckdb.memoryLimit });
  await writer.migrate();
  await writer.close();
  const withStore = await startApi(config, { log, metrics: new ApiMetrics(false) });
  try {
    const res = await fetch(withStore.url + q, { headers: auth });
    const body = (await res.json()) as { rollup?: string; rows?: unknown[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(typeof body.rollup === 'string', 'the answer names the table that answered');
    // the distributed mode's api serves the console too (services/console's build), with its CSP
    const page = await fetch(`${withStore.url}/console/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /^default-src 'self'/);
    assert.equal((await fetch(`${withStore.url}/v1/pipeline/health`, { headers: auth })).status, 503, 'no `pipeline` section: no metrics to read');
  } finally {
    await withStore.stop();
  }

  const ingestOnly = await startApi(ApiConfigSchema.parse(base), { log, metrics: new ApiMetrics(false) });
  try {
    const res = await fetch(ingestOnly.url + q, { headers: auth });
    assert.equal(res.status, 503);
  } finally {
    await ingestOnly.stop();
  }
});
