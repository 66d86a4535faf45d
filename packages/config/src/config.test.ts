import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { apiInput, collectorInput, enricherInput, ConfigFileError, isBackendConfig, parseBackendConfig, parseConfigText, readConfigFile, serviceConfig } from './index.js';

const SAMPLE = fileURLToPath(new URL('./testdata/sightline.yaml', import.meta.url));

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigFileError, `a ConfigFileError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('no error');
}

test('the sample file maps to each service: every tenant once, the tenant implied by its key', () => {
  const raw = readConfigFile(SAMPLE);
  assert.ok(isBackendConfig(raw));
  const c = parseBackendConfig(raw, SAMPLE);
  const col = collectorInput(c).input;
  assert.deepEqual((col['sources'] as { tenant: string; cloud: string }[]).map((s) => `${s.tenant}/${s.cloud}`), ['acme/aws', 'acme/gcp', 'initech/azure']);
  assert.deepEqual(col['kafka'], { brokers: ['127.0.0.1:9092'], topicPrefix: 'sightline.', group: 'sightline-collector' });
  assert.deepEqual(col['collector'], { workers: 4 });
  const enr = enricherInput(c).input;
  assert.deepEqual((enr['enricher'] as { clusters: unknown[] }).clusters, [
    { tenant: 'acme', cluster: 'eks-prod', cloud: 'aws', accounts: ['123456789012'], networks: [] },
    { tenant: 'initech', cluster: 'aks-west', cloud: 'azure', accounts: [], networks: [] },
  ]);
  assert.deepEqual(enr['retention'], { days: { flows: 30 }, tenants: { acme: { flows: 7 } } });
  assert.equal((enr['kafka'] as { topicPrefix: string }).topicPrefix, (col['kafka'] as { topicPrefix: string }).topicPrefix);
  const api = apiInput(c).input as { tokens: { clusters: unknown[]; readers: unknown[] }; query: { store: unknown } };
  assert.equal(api.tokens.clusters.length, 2);
  assert.deepEqual(api.tokens.readers, [{ tokenSha256: '9c67a100548792a0321c4c621f7622e73f5b105522e328a00e04e91516fff994', tenant: 'acme', name: 'acme dashboards' }]);
  assert.deepEqual(api.query.store, { engine: 'clickhouse', url: 'http://127.0.0.1:8123', database: 'sightline' });
});

test('a token used twice is an error naming both places', () => {
  const raw = parseConfigText(JSON.stringify({
    version: 1, kafka: { brokers: ['k:9092'] }, store: { engine: 'duckdb', path: '/tmp/x.duckdb' },
    tenants: {
      a: { clusters: { c1: { tokenSha256: 'a'.repeat(64) } } },
      b: { readers: [{ name: 'dash', tokenSha256: 'a'.repeat(64) }] },
    },
  }), 'one.json');
  const p = problems(() => parseBackendConfig(raw, 'one.json'));
  assert.deepEqual(p, ['tenants.b.readers[0].tokenSha256: same token hash as tenants.a.clusters.c1.tokenSha256: every cluster and reader has its own token']);
});

test('what is shared cannot be set again in a service section, nor a source name another tenant', () => {
  const raw = { version: 1, kafka: { brokers: ['k:9092'] }, store: { engine: 'clickhouse', url: 'http://c:8123', database: 'd', password: 'hunter2' },
    tenants: { a: { sources: [{ cloud: 'aws', tenant: 'b' }] } },
    enricher: { kafka: { topicPrefix: 'other.' }, store: { engine: 'duckdb' } }, api: { tokensFile: '/t.json' } };
  const p = problems(() => parseBackendConfig(raw, 'one.json'));
  assert.ok(p.some((l) => l.startsWith('tenants.a.sources[0].tenant: says tenant "b"')), p.join('\n'));
  assert.ok(p.some((l) => l.startsWith('enricher.kafka.topicPrefix: is shared: set it once in kafka.topicPrefix')), p.join('\n'));
  assert.ok(p.some((l) => l.startsWith('enricher.store: is shared')), p.join('\n'));
  assert.ok(p.some((l) => l.startsWith('api.tokensFile:')), p.join('\n'));
  assert.ok(p.some((l) => l.startsWith('store.password: give passwordFile')), p.join('\n'));
  assert.ok(!p.some((l) => l.includes('hunter2')), 'no password in an error');
});

test("a service's own schema errors name the place in the one file", () => {
  const raw = readConfigFile(SAMPLE) as { tenants: { initech: { sources: { region?: number }[] } }; collector: Record<string, unknown> };
  raw.collector['workerz'] = 3;
  // a stand-in for a service schema, of the shape map.ts gives: a bad source, an unknown knob
  const Schema = z.strictObject({
    kafka: z.looseObject({ group: z.string().max(3) }),
    collector: z.strictObject({ workers: z.number() }),
    sources: z.array(z.looseObject({ cloud: z.literal(['aws', 'gcp']) })),
  });
  const p = problems(() => serviceConfig(raw, 'sightline.yaml', 'collector', Schema));
  assert.ok(p.includes('collector.kafka.group: Too big: expected string to have <=3 characters'), p.join('\n'));
  assert.ok(p.includes('collector.workerz: unknown key'), p.join('\n'));
  assert.ok(p.some((l) => l.startsWith('tenants.initech.sources[0].cloud:')), p.join('\n'));
});

test('syntax errors give line and column, never the text around them (it may be a password)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const y = join(dir, 'bad.yaml');
  writeFileSync(y, 'version: 1\nstore:\n  password: "hunter2-secret\n  url: x\n');
  const py = problems(() => readConfigFile(y));
  assert.match(py[0]!, /YAML syntax error \(\w+\) at line \d+, column \d+/);
  const j = join(dir, 'bad.json');
  writeFileSync(j, '{"version": 1, "store": {"password": "hunter2-secret" "url": 1}}');
  const pj = problems(() => readConfigFile(j));
  for (const l of [...py, ...pj]) assert.ok(!l.includes('hunter2'), l);
  assert.match(pj[0]!, /line 1, column \d+/);
});

test('a per-service file is not taken for the one file', () => {
  assert.equal(isBackendConfig({ kafka: { brokers: ['k:1'] }, sources: [] }), false);
  assert.equal(isBackendConfig({ version: 1, tenants: {} }), true);
});
