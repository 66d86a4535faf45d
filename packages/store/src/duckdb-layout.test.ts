import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { batchDiff, CLOUDS, colIndex, FlowBatch, type Cloud } from '@sightline/flow';
import { DuckDBStore } from './duckdb-store.js';
import { retentionPolicy } from './retention.js';
import { cloudFlowTable, RAW_FLOW_TABLES, WIDE_FLOW_TABLE } from './schema.js';
import { metaFor, sampleBatch } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

/**
 * Layout (b) on DuckDB (migration 5): a table per cloud behind the view `flows`. The fixture
 * testdata/d4d7c96/store.duckdb.gz is a store written by the code before this layout (main at
 * d4d7c96, its scripts/make-fixtures.ts: migrations 1-4, tenants acme and globex, rows of every cloud).
 */

const FIXTURE = new URL('./testdata/d4d7c96/store.duckdb.gz', import.meta.url);
/** the fixture's synthetic rows: 2026-11-01 00:00 to 02:00 UTC (its sample rows are of 2014-2024) */
const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const WINDOW = { from: T0, to: T0 + 3 * 3_600_000 };
const TENANTS = ['acme', 'globex'] as const;
const dir = mkdtempSync(path.join(tmpdir(), 'sightline-layout-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function fixtureCopy(): string {
  const file = path.join(dir, `before-${n++}.duckdb`);
  writeFileSync(file, gunzipSync(readFileSync(FIXTURE)));
  return file;
}

type Sql = (q: string) => Promise<Record<string, unknown>[]>;
const sqlOf = (s: DuckDBStore): Sql => (q) => s.withConnection(async (c) => (await c.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[]);
const json = (x: unknown): string => JSON.stringify(x, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

/** The rows of `b` that `keep` picks, in order, every column `b` has (a batch of one cloud from the mixed sample). */
function pick(b: FlowBatch, keep: (r: number) => boolean): FlowBatch {
  const rows = Array.from({ length: b.length }, (_, r) => r).filter(keep);
  const out = new FlowBatch(Math.max(rows.length, 1));
  for (const [k, c] of b.columns.entries()) {
    if (c === undefined) continue;
    out.columns[k] = c instanceof Float64Array ? Float64Array.from(rows, (r) => c[r]!) : rows.map((r) => c[r] ?? null);
  }
  if (b.extra !== undefined) out.extra = rows.map((r) => b.extra![r] ?? null);
  out.length = rows.length;
  return out;
}

/** The sample's rows of one cloud, `copies` times over, with their times moved into [t0, t0 + 1 h). */
function cloudBatch(cloud: Cloud, copies: number, t0: number): FlowBatch {
  const s = sampleBatch();
  const one = pick(s, (r) => s.get(r, colIndex('cloud')) === cloud);
  const b = pick(one, () => true);
  const all = new FlowBatch(one.length * copies);
  for (const [k, c] of b.columns.entries()) {
    if (c === undefined) continue;
    all.columns[k] = c instanceof Float64Array ? new Float64Array(one.length * copies) : new Array<string | null>(one.length * copies).fill(null);
    for (let i = 0; i < copies; i++) for (let r = 0; r < one.length; r++) all.columns[k]![i * one.length + r] = c[r]!;
  }
  if (b.extra !== undefined) all.extra = Array.from({ length: one.length * copies }, (_, i) => b.extra![i % one.length] ?? null);
  all.length = one.length * copies;
  toMicros(all);
  const start = all.numbers(colIndex('start'));
  const end = all.numbers(colIndex('end'));
  for (let r = 0; r < all.length; r++) {
    start[r] = t0 + ((r * 61_000) % 3_600_000);
    end[r] = start[r]! + 60_000;
  }
  return all;
}

/** `b` with its times to the microsecond, the precision the store keeps (and Sightline writes out). */
function toMicros(b: FlowBatch): FlowBatch {
  for (const name of ['start', 'end', 'timestamp', 'record_time']) {
    const c = b.columns[colIndex(name)];
    if (c instanceof Float64Array) c.forEach((v, i) => (c[i] = Math.round(v * 1000) / 1000));
  }
  return b;
}

/** What the query API asks over the window, per tenant: from the raw rows (through the view) and each rollup. */
async function reads(s: DuckDBStore): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  for (const tenant of TENANTS) {
    for (const use of ['raw', '1m', '5m', '1h'] as const) {
      const ts = await s.timeSeries(tenant, { ...WINDOW, stepSeconds: 3600, metric: 'bytes', use });
      out[`${tenant} ${use} bytes`] = ts.points.reduce((a, p) => a + p.value, 0);
      const top = await s.topN(tenant, { ...WINDOW, dimensions: ['dst_k8s_workload'], metric: 'flows', n: 10_000, use });
      out[`${tenant} ${use} flows`] = top.rows.reduce((a, r) => a + r.value, 0);
      const ports = await s.topN(tenant, { ...WINDOW, dimensions: ['service_port', 'protocol'], metric: 'packets', n: 10_000, use });
      out[`${tenant} ${use} ports`] = json(ports.rows);
    }
    // a field of one cloud's table only, through the view
    const gcp = await s.topN(tenant, { ...WINDOW, dimensions: ['reporter'], metric: 'flows', n: 100, use: 'raw', filters: [{ field: 'cloud', values: ['gcp'] }] });
    out[`${tenant} gcp reporter`] = json(gcp.rows);
    let rows = 0;
    for (let page = await s.listFlows(tenant, { ...WINDOW, limit: 1000 }); ; ) {
      rows += page.rows.length;
      const last = page.rows.at(-1);
      if (page.rows.length < 1000 || last === undefined) break;
      page = await s.listFlows(tenant, { ...WINDOW, limit: 1000, after: last.position });
    }
    out[`${tenant} listed`] = rows;
  }
  return out;
}

const sum = (b: FlowBatch, field: string): number => {
  const c = b.numbers(colIndex(field));
  let x = 0;
  for (let r = 0; r < b.length; r++) if (!Number.isNaN(c[r]!)) x += c[r]!;
  return x;
};

/** Rows per tenant in each raw table. */
async function perTable(sql: Sql): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of RAW_FLOW_TABLES) for (const r of await sql(`SELECT tenant, count(*) AS n FROM ${t} GROUP BY tenant`)) out[`${t} ${String(r.tenant)}`] = Number(r.n);
  return out;
}

test('layout (b): a store written by the code before (d4d7c96) migrates: every row kept, SELECT * FROM flows unchanged, old and new rows answered, new rows in their cloud\'s table', async () => {
  const s = await DuckDBStore.open({ path: fixtureCopy() });
  try {
    const sql = sqlOf(s);
    assert.deepEqual((await sql('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version)), [1, 2, 3, 4], 'the fixture is a store of the code before');
    const describe = async (): Promise<string> => json((await sql('DESCRIBE SELECT * FROM flows')).map((r) => [r.column_name, r.column_type]));
    const shape = await describe();
    const everything = async (): Promise<string> => json(await sql('SELECT * FROM flows ORDER BY tenant, batch_id, row_no'));
    const rows = await everything();
    const others = async (): Promise<string> =>
      json(await Promise.all(['rollup_1m', 'rollup_5m', 'rollup_1h', 'flows_1m', 'flows_5m', 'flows_1h', 'batches'].map((t) => sql(`SELECT * FROM ${t} ORDER BY ALL`))));
    const kept = await others();
    const old = await reads(s);
    const total = Number((await sql('SELECT count(*) AS n FROM flows'))[0]!.n);
    assert.ok(total > 100 && (old['acme listed'] as number) > 0 && (old['globex listed'] as number) > 0, 'the fixture has rows of both tenants in the window');

    assert.deepEqual(await s.migrate(), [5]);
    assert.equal(await describe(), shape, 'SELECT * FROM flows: the same columns, names and types, in the same order');
    assert.equal(await everything(), rows, 'every raw row, every value');
    assert.equal(await others(), kept, 'rollups, old rollups and ledger untouched');
    assert.deepEqual((await sql("SELECT table_type FROM information_schema.tables WHERE table_name = 'flows'")).map((r) => r.table_type), ['VIEW']);
    assert.deepEqual(await perTable(sql), { 'flows_wide acme': 69, 'flows_wide globex': 84 }, 'the old rows stay in the renamed wide table, not copied');
    assert.deepEqual(await reads(s), old, 'the query functions answer the old rows as before');
    const fresh = await DuckDBStore.open({ path: path.join(dir, `fresh-${n++}.duckdb`) });
    try {
      await fresh.migrate();
      assert.equal(json((await sqlOf(fresh)('DESCRIBE SELECT * FROM flows')).map((r) => [r.column_name, r.column_type])), shape, 'a new store: the same flows columns');
    } finally {
      await fresh.close();
    }

    // new rows: per tenant, a batch of each cloud, and synthetic AWS rows
    const added: Record<string, { flows: number; bytes: number }> = {};
    const ids: Record<string, { id: string; batch: FlowBatch; cloud: Cloud }[]> = {};
    for (const [i, tenant] of TENANTS.entries()) {
      const batches: { batch: FlowBatch; cloud: Cloud }[] = [
        ...CLOUDS.map((cloud) => ({ cloud, batch: cloudBatch(cloud, 5 + i, T0 + 30 * 60_000) })),
        { cloud: 'aws' as const, batch: enrichedBatch(40, 9000 + i, T0 + 30 * 60_000, 60 * 60_000) },
      ];
      ids[tenant] = [];
      added[tenant] = { flows: 0, bytes: 0 };
      for (const [k, { batch, cloud }] of batches.entries()) {
        const meta = metaFor(tenant, `layout/${tenant}/${k}`, batch.length);
        assert.deepEqual(await s.writeBatch(meta, batch), { written: true });
        ids[tenant].push({ id: meta.id, batch, cloud });
        added[tenant].flows += batch.length;
        added[tenant].bytes += sum(batch, 'bytes');
      }
    }
    for (const tenant of TENANTS) {
      for (const { id, batch, cloud } of ids[tenant]!) {
        const where = `WHERE tenant = '${tenant}' AND batch_id = '${id}'`;
        for (const t of RAW_FLOW_TABLES) {
          const got = Number((await sql(`SELECT count(*) AS n FROM ${t} ${where}`))[0]!.n);
          assert.equal(got, t === cloudFlowTable(cloud) ? batch.length : 0, `${tenant} ${cloud} batch: its rows in ${cloudFlowTable(cloud)} only (${t})`);
        }
        assert.equal(batchDiff(await s.readBatch(tenant, id), batch), null, `${tenant} ${cloud} batch reads back field for field`);
      }
    }
    const now = await reads(s);
    for (const tenant of TENANTS) {
      for (const use of ['raw', '1m', '5m', '1h']) {
        assert.equal(now[`${tenant} ${use} bytes`], (old[`${tenant} ${use} bytes`] as number) + added[tenant]!.bytes, `${tenant} ${use}: old + new bytes`);
        assert.equal(now[`${tenant} ${use} flows`], (old[`${tenant} ${use} flows`] as number) + added[tenant]!.flows, `${tenant} ${use}: old + new flows`);
        assert.equal(now[`${tenant} ${use} ports`], now[`${tenant} raw ports`], `${tenant} ${use}: service ports as the raw rows`);
      }
      assert.equal(now[`${tenant} listed`], (old[`${tenant} listed`] as number) + added[tenant]!.flows, `${tenant}: listFlows pages through old and new rows`);
      assert.notEqual(now[`${tenant} gcp reporter`], old[`${tenant} gcp reporter`], `${tenant}: a GCP field of new rows through the view`);
    }
    assert.equal(Number((await sql(`SELECT count(*) AS n FROM ${WIDE_FLOW_TABLE}`))[0]!.n), total, 'no new row in the wide table');
  } finally {
    await s.close();
  }
});

test('layout (b): a batch with rows of several clouds is split by cloud, row numbers kept; a row with another cloud\'s value (or no cloud) goes whole to flows_wide', async () => {
  const s = await DuckDBStore.open({ path: path.join(dir, `split-${n++}.duckdb`) });
  await s.migrate();
  try {
    const sql = sqlOf(s);
    const mixed = toMicros(sampleBatch()); // AWS, GCP and Azure rows, one batch
    const strays = enrichedBatch(30, 77, T0, 3_600_000); // AWS rows with AWS fields (version, interface_id)
    const cloud = strays.strings(colIndex('cloud'));
    cloud[3] = 'gcp'; // a GCP row with AWS values: no table of one cloud holds it
    cloud[4] = null; // no cloud
    const items = [
      { meta: metaFor('acme', 'split/mixed', mixed.length), batch: mixed },
      { meta: metaFor('acme', 'split/strays', strays.length), batch: strays },
    ];
    assert.deepEqual(await Promise.all(items.map((i) => s.writeBatch(i.meta, i.batch))), [{ written: true }, { written: true }]);
    const where = (id: string): string => `WHERE batch_id = '${id}'`;
    const per = async (id: string): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      for (const t of RAW_FLOW_TABLES) out[t] = json((await sql(`SELECT row_no FROM ${t} ${where(id)} ORDER BY row_no`)).map((r) => Number(r.row_no)));
      return out;
    };
    const rowsOf = (b: FlowBatch, c: Cloud): number[] => Array.from({ length: b.length }, (_, r) => r).filter((r) => b.get(r, colIndex('cloud')) === c);
    assert.deepEqual(await per(items[0]!.meta.id), {
      flows_aws: json(rowsOf(mixed, 'aws')),
      flows_gcp: json(rowsOf(mixed, 'gcp')),
      flows_azure: json(rowsOf(mixed, 'azure')),
      flows_wide: '[]',
    });
    assert.deepEqual(await per(items[1]!.meta.id), {
      flows_aws: json(Array.from({ length: 30 }, (_, r) => r).filter((r) => r !== 3 && r !== 4)),
      flows_gcp: '[]',
      flows_azure: '[]',
      flows_wide: '[3,4]',
    });
    for (const it of items) assert.equal(batchDiff(await s.readBatch('acme', it.meta.id), it.batch), null, `${it.meta.source.key} reads back whole, in row order`);
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '5m', '1h'] as const) assert.deepEqual((await s.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: 30 }], use);
  } finally {
    await s.close();
  }
});

test('layout (b) exactly once: a group failing in its second cloud table\'s insert leaves no row in any table; a split batch written twice counts once', async () => {
  const s = await DuckDBStore.open({ path: path.join(dir, `once-${n++}.duckdb`) });
  await s.migrate();
  try {
    const sql = sqlOf(s);
    const good = enrichedBatch(3000, 31, T0, 3_600_000); // AWS: inserted into flows_aws first
    const bad = cloudBatch('gcp', 400, T0);
    bad.numbers(colIndex('src_location_asn'))[500] = 1e300; // a GCP column: fails in flows_gcp's insert
    const mixed = cloudBatch('azure', 50, T0);
    const results = await Promise.allSettled([
      s.writeBatch(metaFor('acme', 'once/good', good.length), good),
      s.writeBatch(metaFor('acme', 'once/bad', bad.length), bad),
      s.writeBatch(metaFor('acme', 'once/azure', mixed.length), mixed),
    ]);
    assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value.written : 'failed')), [true, 'failed', true]);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /out of the BIGINT range/);
    const counts = async (): Promise<Record<string, number>> => perTable(sql);
    assert.deepEqual(await counts(), { 'flows_aws acme': 3000, 'flows_azure acme': mixed.length }, 'the good batches once, nothing of the bad one');
    const sample = sampleBatch();
    const meta = metaFor('acme', 'once/sample', sample.length);
    assert.deepEqual(await s.writeBatch(meta, sample), { written: true });
    assert.deepEqual(await Promise.all([s.writeBatch(meta, sample), s.writeBatch(meta, sample)]), [{ written: false }, { written: false }]);
    const after = await counts();
    assert.equal(Object.values(after).reduce((a, x) => a + x, 0), 3000 + mixed.length + sample.length, 'the split sample batch counted once over the cloud tables');
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '5m', '1h'] as const) assert.deepEqual((await s.timeSeries('acme', { ...q, use })).points, [{ t: T0, value: 3000 + mixed.length }], use);
  } finally {
    await s.close();
  }
});

test('layout (b) retention: one tenant\'s expiry removes its rows from every raw table (the cloud tables and flows_wide) and leaves another tenant\'s in place', async () => {
  const s = await DuckDBStore.open({ path: fixtureCopy() });
  try {
    await s.migrate();
    const sql = sqlOf(s);
    for (const tenant of TENANTS) {
      for (const cloud of CLOUDS) {
        const b = cloudBatch(cloud, 4, T0);
        assert.deepEqual(await s.writeBatch(metaFor(tenant, `ret/${cloud}`, b.length), b), { written: true });
      }
    }
    const before = await perTable(sql);
    for (const t of RAW_FLOW_TABLES) for (const tenant of TENANTS) assert.ok((before[`${t} ${tenant}`] ?? 0) > 0, `${t} holds rows of ${tenant}`);
    // ten days after the rows: acme keeps 5 days of raw rows, globex a century (the fixture's sample rows are of 2014-2024)
    const report = await s.applyRetention(new Date(T0 + 10 * 86_400_000), retentionPolicy({ tenants: { acme: { flows: 5 }, globex: { flows: 36_500 } } }));
    const acme = RAW_FLOW_TABLES.reduce((a, t) => a + (before[`${t} acme`] ?? 0), 0);
    assert.equal(report.flows.rows, acme, 'every raw row of acme, counted over the raw tables');
    assert.deepEqual(await perTable(sql), Object.fromEntries(Object.entries(before).filter(([k]) => k.endsWith(' globex'))), 'globex keeps every row in every raw table; acme has none left');
    assert.deepEqual((await s.timeSeries('acme', { ...WINDOW, stepSeconds: 3600, metric: 'flows', use: 'raw' })).points, []);
  } finally {
    await s.close();
  }
});

test('layout (b): two stores on one file migrating at the same time both succeed, and migration 5 is applied once', async () => {
  const file = fixtureCopy();
  const a = await DuckDBStore.open({ path: file });
  const b = await DuckDBStore.open({ path: file });
  try {
    const applied = await Promise.all([a.migrate(), b.migrate()]);
    assert.deepEqual(applied.flat().sort(), [5]);
    const b1 = enrichedBatch(10, 5, T0, 60_000);
    assert.deepEqual(await b.writeBatch(metaFor('acme', 'both/1', 10), b1), { written: true });
    assert.equal((await a.readBatch('acme', metaFor('acme', 'both/1', 10).id)).length, 10);
  } finally {
    await a.close();
    await b.close();
  }
});
