import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DuckDBStore, retentionPolicy } from '@sightline/store';
import { loadEmbeddedConfig } from './config.js';
import { EMBEDDED_MEMORY_LIMIT, runEmbedded } from './embedded.js';
import { runPipeline } from './pipeline.js';

const SAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../samples');
/** the samples' flows are of 2026-03-10 */
const DAY = { from: Date.parse('2026-03-10T00:00:00Z'), to: Date.parse('2026-03-11T00:00:00Z') };

/** The samples' config with absolute paths, for `tenant`, with `retention`. */
function writeConfig(dir: string, tenant: string, retention: unknown): string {
  const raw = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'sightline.json'), 'utf8')) as { tenant: string; clusters: { kube: string }[]; sources: string[]; retention?: unknown };
  raw.tenant = tenant;
  for (const c of raw.clusters) c.kube = path.join(SAMPLES, c.kube);
  raw.sources = raw.sources.map((s) => path.join(SAMPLES, s));
  raw.retention = retention;
  const file = path.join(dir, `${tenant}.json`);
  fs.writeFileSync(file, JSON.stringify(raw));
  return file;
}

test('config: retention defaults to today\'s days, applied hourly, first run a minute after start; bad days rejected', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-retention-cfg-'));
  try {
    const r = loadEmbeddedConfig(writeConfig(dir, 'demo', undefined)).config.retention;
    assert.deepEqual(r, { enabled: true, intervalSeconds: 3600, firstRunSeconds: 60, days: {}, tenants: {} });
    assert.throws(() => loadEmbeddedConfig(writeConfig(dir, 'demo', { days: { flows: 0 } })), /retention\.days\.flows/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the samples\' own config keeps every sample flow in every tier (else `pnpm start` deletes its raw rows a minute in)', () => {
  const cfg = loadEmbeddedConfig(path.join(SAMPLES, 'sightline.json')).config;
  const days = retentionPolicy({ days: cfg.retention.days, tenants: cfg.retention.tenants }).default;
  for (const [tier, d] of Object.entries(days)) {
    assert.ok(Date.now() - d * 86_400_000 < DAY.from, `${tier}: ${d} days cut the samples of ${new Date(DAY.from).toISOString()}`);
  }
});

/**
 * The embedded run applies retention on its schedule, per tenant: `demo` keeps raw flows 1 day
 * (the samples, of March 2026, are older: all its raw rows go), every other tenant 400 days (the
 * configured default); both keep their 1h rollups. `other`'s rows are written by the embedded
 * pipeline into the running store, then the test waits for two more retention runs (the run
 * counter, not time), so at least one started after they were written.
 */
test('embedded run: retention on its schedule; one tenant\'s expiry leaves another tenant\'s rows (DuckDB)', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-retention-'));
  const dbPath = path.join(dir, 'store.duckdb');
  const warnings: string[] = [];
  const run = await runEmbedded({
    configFile: writeConfig(dir, 'demo', { firstRunSeconds: 0, intervalSeconds: 1, days: { flows: 400 }, tenants: { demo: { flows: 1 } } }),
    dbPath,
    port: 0,
    out: () => undefined,
    warn: (l) => warnings.push(l),
  });
  const other = await DuckDBStore.open({ path: dbPath, memoryLimit: EMBEDDED_MEMORY_LIMIT });
  try {
    assert.ok(run.retention, 'retention is on by default');
    const written = await runPipeline(loadEmbeddedConfig(writeConfig(dir, 'other', undefined)), other);
    assert.ok(written.flows > 0);
    const mark = run.retention.status.runs;
    for (const deadline = Date.now() + 120_000; run.retention.status.runs < mark + 2; ) {
      if (Date.now() > deadline) throw new Error(`retention did not run twice more: ${JSON.stringify(run.retention.status)}`);
      await delay(50);
    }
    const total = async (tenant: string, use: 'raw' | '1h'): Promise<number> =>
      (await other.topN(tenant, { ...DAY, dimensions: ['action'], metric: 'flows', use })).rows.reduce((a, r) => a + r.value, 0);
    assert.deepEqual(
      { demoRaw: await total('demo', 'raw'), demo1h: await total('demo', '1h'), otherRaw: await total('other', 'raw'), other1h: await total('other', '1h') },
      { demoRaw: 0, demo1h: run.result.flows, otherRaw: written.flows, other1h: written.flows },
    );
    assert.equal(run.retention.status.removed.flows.rows, run.result.flows, 'the status counts demo\'s raw rows removed');
    assert.equal(run.retention.status.failures, 0, warnings.join('\n'));
    assert.ok(run.retention.status.lastSuccessMs !== null);
  } finally {
    await other.close();
    await run.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
