import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { openStore, StoreConfigSchema } from './open-store.js';

// The one store entry point, against a DuckDB file and the real local ClickHouse (`pnpm infra:up`).
const dir = mkdtempSync(path.join(tmpdir(), 'sightline-open-'));
const url = endpoints().clickhouseUrl;
const database = `sightline_open_${randomBytes(4).toString('hex')}`;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  const c = createClient({ url });
  await c.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await c.close();
});

test('openStore: a duckdb section opens the file with its memoryLimit and migrates when asked', async () => {
  const s = await openStore({ engine: 'duckdb', path: path.join(dir, 'a.duckdb'), memoryLimit: '256MB', connections: 3 }, { migrate: true });
  try {
    assert.equal(s.engine, 'duckdb');
    const [limit, migrations] = await s.withConnection(async (c) => {
      const a = (await c.runAndReadAll("SELECT current_setting('memory_limit')")).getColumnsJS()[0]?.[0];
      const b = (await c.runAndReadAll('SELECT count(*) FROM schema_migrations')).getColumnsJS()[0]?.[0];
      return [String(a), Number(b)];
    });
    // DuckDB reports 256MB as 244.1 MiB
    assert.match(limit, /^24\d(\.\d+)? MiB$/);
    assert.ok(migrations > 0);
  } finally {
    await s.close();
  }
});

test('openStore: a clickhouse section (password file, lowCardinality) opens and migrates; without migrate nothing is created', async () => {
  const pw = path.join(dir, 'pw');
  writeFileSync(pw, '\n'); // the local server's default user has no password; one trailing newline is dropped
  const section = { engine: 'clickhouse' as const, url, database, passwordFile: pw, lowCardinality: false };
  const reader = await openStore(section);
  const c = createClient({ url });
  try {
    assert.equal(reader.engine, 'clickhouse');
    const exists = async () => (await (await c.query({ query: `SELECT count() AS n FROM system.databases WHERE name = '${database}'`, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n;
    assert.equal(Number(await exists()), 0);
    const writer = await openStore(section, { migrate: true });
    assert.equal(Number(await exists()), 1);
    await writer.close();
  } finally {
    await reader.close();
    await c.close();
  }
});

test('openStore: an invalid section names the field, never the value', async () => {
  await assert.rejects(
    openStore({ engine: 'clickhouse', url: 'not-a-url-s3cret', database: 'x' }),
    (e: Error) => /store config: url: /.test(e.message) && !e.message.includes('s3cret'),
  );
  await assert.rejects(openStore({ engine: 'duckdb', path: 'x.duckdb', memoryLimit: 'lots' } as never), /memoryLimit: a size such as 1GB/);
});

test('StoreConfigSchema: every field the enricher and the api took before is one section', () => {
  // the enricher's and the api's former store sections, field by field, both in one union
  const ch = StoreConfigSchema.parse({
    engine: 'clickhouse', url: 'https://ch:8443', database: 'flows', username: 'w', password: 'p', passwordFile: '/run/pw',
    tls: { caFile: '/ca', certFile: '/c', keyFile: '/k' }, cluster: 'sightline', lowCardinality: true,
  });
  assert.equal(ch.engine, 'clickhouse');
  assert.deepEqual(StoreConfigSchema.parse({ engine: 'duckdb', path: '/f.duckdb' }), { engine: 'duckdb', path: '/f.duckdb', connections: 2 });
  assert.throws(() => StoreConfigSchema.parse({ engine: 'duckdb', path: '/f', unknown: 1 }), /unknown|Unrecognized/i);
  assert.throws(() => StoreConfigSchema.parse({ engine: 'clickhouse', url: 'http://x', database: 'd', tls: { caFile: '/ca', certFile: '/c' } }), /go together/);
});
