import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiConfigSchema, loadConfig } from './config.js';

test('config: defaults filled around the tokens file; bad fields named with the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-config-'));
  const file = path.join(dir, 'api.json');
  writeFileSync(file, JSON.stringify({ tokensFile: '/etc/sightline/tokens.json' }));
  const c = loadConfig(file);
  assert.deepEqual([c.listen.host, c.listen.port, c.kafka.topicPrefix, c.tls], ['127.0.0.1', 8443, 'sightline.', undefined]);
  writeFileSync(file, JSON.stringify({ tokensFile: 't.json', listen: { port: 70000 }, kafka: { topicPrefix: 'a b' } }));
  assert.throws(() => loadConfig(file), (e: unknown) => e instanceof Error && e.message.startsWith(`config ${file}`) && /listen\.port/.test(e.message) && /kafka\.topicPrefix/.test(e.message));
  writeFileSync(file, '{');
  assert.throws(() => loadConfig(file), /config .*api\.json/);
});

test('config: the query section (store engine, time limit) is optional and checked', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-config-'));
  const file = path.join(dir, 'api.json');
  writeFileSync(file, JSON.stringify({ tokensFile: 't.json', query: { store: { engine: 'duckdb', path: '/var/lib/sightline/flows.duckdb' } } }));
  const c = loadConfig(file);
  assert.deepEqual([c.query?.timeoutMs, c.query?.store.engine === 'duckdb' && c.query.store.connections], [15_000, 2]);
  assert.equal(loadConfig((writeFileSync(file, JSON.stringify({ tokensFile: 't.json' })), file)).query, undefined);
  writeFileSync(file, JSON.stringify({ tokensFile: 't.json', query: { store: { engine: 'sqlite', path: 'x' }, timeoutMs: 0 } }));
  assert.throws(() => loadConfig(file), /query\.store\.engine/);
  writeFileSync(file, JSON.stringify({ tokensFile: 't.json', query: { store: { engine: 'clickhouse', url: 'http://127.0.0.1:8123', database: 'sightline' }, timeoutMs: 0 } }));
  assert.throws(() => loadConfig(file), /query\.timeoutMs/);
});

test('config: server limits, the metrics listener, failed-authentication and ingest sanity limits have defaults and are checked', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-config-'));
  const file = path.join(dir, 'api.json');
  writeFileSync(file, JSON.stringify({ tokensFile: 't.json' }));
  const c = loadConfig(file);
  assert.deepEqual([c.listen.maxConnections, c.listen.headersTimeoutMs, c.listen.requestTimeoutMs], [1024, 10_000, 60_000]);
  assert.deepEqual(c.metrics, { host: '127.0.0.1', port: 9466 }, 'metrics on loopback, apart from the public port');
  assert.deepEqual([c.auth.failureBurst, c.auth.failuresPerSecond], [20, 1]);
  assert.deepEqual([c.ingest.bodyTimeoutMs, c.ingest.maxConcurrentInflations, c.ingest.maxFutureSkewMs, c.ingest.maxPastSkewMs], [30_000, 2, 600_000, 86_400_000]);
  writeFileSync(file, JSON.stringify({ tokensFile: 't.json', listen: { headersTimeoutMs: 90_000, requestTimeoutMs: 60_000 }, auth: { failuresPerSecond: 0 } }));
  assert.throws(() => loadConfig(file), (e: unknown) => e instanceof Error && /listen\.headersTimeoutMs/.test(e.message) && /auth\.failuresPerSecond/.test(e.message));
});

test('config: an unknown key anywhere is refused with its path; a JSON syntax error gives line and column, never the text', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'api-config-'));
  const file = path.join(dir, 'api.json');
  writeFileSync(file, JSON.stringify({ tokensFile: 't.json', listen: { prot: 1 }, query: { store: { engine: 'clickhouse', url: 'http://127.0.0.1:8123', database: 'd', passwordfile: '/p' }, limits: { clickhouse: { maxRowsRead: 1 } } } }));
  assert.throws(() => loadConfig(file), (e: unknown) => {
    const m = e instanceof Error ? e.message : '';
    return /listen\.prot: unknown key/.test(m) && /query\.store\.passwordfile: unknown key/.test(m) && /query\.limits\.clickhouse\.maxRowsRead: unknown key/.test(m);
  });
  // a password written without quotes: V8's message would quote it
  writeFileSync(file, '{\n  "tokensFile": "t.json",\n  "query": { "store": { "engine": "clickhouse", "password": hunter2-secret } }\n}\n');
  assert.throws(() => loadConfig(file), (e: unknown) => {
    const m = e instanceof Error ? e.message : '';
    return !m.includes('hunter2') && m.includes(`${file}:3:`) && /line 3, column \d+/.test(m);
  });
});

test("config: query.store is the store section every service shares (the enricher's lowCardinality, memoryLimit); an inline password is refused, naming passwordFile", () => {
  const base = { tokensFile: 't.json' };
  const ch = ApiConfigSchema.parse({ ...base, query: { store: { engine: 'clickhouse', url: 'http://127.0.0.1:8123', database: 'd', passwordFile: '/run/pw', lowCardinality: false } } });
  assert.equal(ch.query?.store.engine, 'clickhouse');
  const duck = ApiConfigSchema.parse({ ...base, query: { store: { engine: 'duckdb', path: '/f.duckdb', memoryLimit: '512MB' } } });
  assert.deepEqual(duck.query?.store, { engine: 'duckdb', path: '/f.duckdb', memoryLimit: '512MB', connections: 2 });
  const r = ApiConfigSchema.safeParse({ ...base, query: { store: { engine: 'clickhouse', url: 'http://127.0.0.1:8123', database: 'd', password: 'hunter2-secret' } } }, { reportInput: false });
  assert.ok(!r.success);
  const text = JSON.stringify(r.error.issues);
  assert.match(text, /passwordFile/);
  assert.deepEqual(r.error.issues[0]?.path, ['query', 'store', 'password']);
  assert.ok(!text.includes('hunter2-secret'));
});
