/**
 * Writes the v1 upgrade fixtures: a DuckDB store file and a ClickHouse DDL + data script, written
 * by the store code of the release that had only migrations 1-2 (DuckDB) and 1-3 (ClickHouse).
 * Run once, with that code, and committed: the upgrade test (src/upgrade.test.ts) migrates copies
 * of them to the current version. Running it with later code would write later-version fixtures,
 * so it refuses to overwrite existing ones (set FORCE=1 to do it for a new fixture directory).
 *
 *   node --import tsx packages/store/scripts/make-fixtures.ts [outDir]
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from '../src/clickhouse-store.js';
import { DuckDBStore } from '../src/duckdb-store.js';
import { metaFor, sampleBatch } from '../src/testdata/sample.js';
import { enrichedBatch } from '../src/testdata/synthetic.js';
import type { WriteItem } from '../src/store.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '../src/testdata/v1'));
if (existsSync(join(out, 'store.duckdb.gz')) && process.env.FORCE !== '1') {
  throw new Error(`make-fixtures: ${out} already holds fixtures; they must stay what the old release wrote (FORCE=1 to overwrite)`);
}
mkdirSync(out, { recursive: true });

/** Fixed start of the synthetic rows: 2026-11-01T00:00:00Z, spread over 2 hours. */
const FIXTURE_T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const TENANTS = ['acme', 'globex'] as const;

function items(): WriteItem[] {
  const all: WriteItem[] = [];
  TENANTS.forEach((tenant, ti) => {
    for (let i = 0; i < 3; i++) {
      const b = enrichedBatch(20 + 5 * ti, 100 * ti + i, FIXTURE_T0 + i * 40 * 60_000, 40 * 60_000);
      all.push({ meta: metaFor(tenant, `fixture/${tenant}/${i}.gz`, b.length, i), batch: b });
    }
    const s = sampleBatch();
    all.push({ meta: metaFor(tenant, `fixture/${tenant}/sample.gz`, s.length, 3), batch: s });
  });
  return all;
}

async function duckdb(): Promise<void> {
  const tmp = join(out, 'tmp-store.duckdb');
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
  const s = await DuckDBStore.open({ path: tmp });
  await s.migrate();
  for (const it of items()) await s.writeBatch(it.meta, it.batch);
  await s.withConnection(async (c) => {
    await c.run('CHECKPOINT');
  });
  await s.close();
  // gzip: the file is mostly empty blocks (DuckDB allocates 256 KB blocks per table)
  writeFileSync(join(out, 'store.duckdb.gz'), gzipSync(readFileSync(tmp), { level: 9 }));
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
}

/** The database name in the script; the test replaces it with its own. */
const FIXTURE_DB_PLACEHOLDER = '__SIGHTLINE_DB__';

async function clickhouse(): Promise<void> {
  const database = `sightline_fixture_v1_${process.pid}`;
  const s = ClickHouseStore.open({ url: endpoints().clickhouseUrl, database });
  try {
    await s.migrate();
    await s.writeBatches(items());
    // plain HTTP: the client appends its own FORMAT clause, and the rows are wanted as VALUES
    const text = async (query: string): Promise<string> => {
      const r = await fetch(endpoints().clickhouseUrl, { method: 'POST', body: /FORMAT \w+$/.test(query) ? query : `${query} FORMAT TabSeparatedRaw` });
      const body = await r.text();
      if (!r.ok) throw new Error(`make-fixtures: ${query.slice(0, 80)}: ${body.slice(0, 300)}`);
      return body;
    };
    const version = (await text('SELECT version()')).trim();
    const tables = (await text(`SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`)).trim().split('\n');
    const isView = async (t: string): Promise<boolean> =>
      (await text(`SELECT engine FROM system.tables WHERE database = '${database}' AND name = '${t}'`)).trim() === 'MaterializedView';
    const plain: string[] = [];
    const views: string[] = [];
    for (const t of tables) (await isView(t) ? views : plain).push(t);
    const sub = (sql: string): string => sql.split(database).join(FIXTURE_DB_PLACEHOLDER);
    const lines: string[] = [
      `-- Sightline store v1 fixture, written by packages/store/scripts/make-fixtures.ts on ClickHouse ${version}.`,
      `-- DDL as the server reports it (SHOW CREATE TABLE); tables, then their rows, then the views,`,
      `-- so loading the rows does not feed the views a second time. ${FIXTURE_DB_PLACEHOLDER} is the database.`,
      `CREATE DATABASE IF NOT EXISTS ${FIXTURE_DB_PLACEHOLDER};`,
    ];
    const show = async (t: string): Promise<string> => (await text(`SHOW CREATE TABLE ${database}.${t}`)).trim();
    for (const t of plain) lines.push(`${sub(await show(t))};`);
    for (const t of plain) {
      const values = (await text(`SELECT * FROM ${database}.${t} ORDER BY tuple(*) FORMAT Values`)).trim();
      if (values.length > 0) lines.push(`INSERT INTO ${FIXTURE_DB_PLACEHOLDER}.${t} VALUES ${values};`);
    }
    for (const t of views) lines.push(`${sub(await show(t))};`);
    writeFileSync(join(out, 'clickhouse-v1.sql'), `${lines.join('\n')}\n`);
  } finally {
    await s.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await s.close();
  }
}

await duckdb();
await clickhouse();
for (const f of readdirSync(out)) console.log(`${join(out, f)} ${statSync(join(out, f)).size} bytes`);
