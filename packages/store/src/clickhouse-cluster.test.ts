import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { checkOnClusterAnswer, clusterBootstrap, clusterMigrations } from './clickhouse-cluster.js';
import { clickhouseMigrations } from './clickhouse-schema.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { CLUSTER, dropEverywhere, nodeClient, NODES, q, syncReplicas, until, type NodeName } from './testdata/cluster.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// Against the local ClickHouse cluster (`pnpm infra:up clickhouse-cluster`): two shards, the first
// with two replicas. One database per test run, dropped from every node at the end.
const database = `sightline_cluster_${randomBytes(4).toString('hex')}`;
const T0 = Date.UTC(2024, 10, 26, 8);
const HOUR = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600 };
const REPLICATED = ['flows', 'batches', 'schema_migrations', 'flows_landed', 'flows_1m', 'flows_5m', 'flows_1h', 'flows_repaired', 'rollup_1m', 'rollup_5m', 'rollup_1h'];
let store: ClickHouseStore;

before(async () => {
  // clusterNodes: retention's mutations go to one node of each shard (the local cluster is one host, three ports)
  store = ClickHouseStore.open({ url: NODES[0].url, database, cluster: CLUSTER, clusterNodes: NODES.map((n) => n.url) });
});

after(async () => {
  await store.close();
  await dropEverywhere(database);
});

/** Rows of the node's own (local) table, without FINAL: a duplicate would show here. */
async function localCount(node: NodeName, table: string, measure = 'count()'): Promise<number> {
  const c = nodeClient(node);
  try {
    return Number((await q<{ n: string }>(c, `SELECT ${measure} AS n FROM ${database}.${table}`))[0]?.n ?? 0);
  } finally {
    await c.close();
  }
}

test('cluster: a migration reaches every node, is recorded once for all, and a second migrate from another node does nothing', async () => {
  const applied = await store.migrate();
  assert.ok(applied.length >= 3 && applied[0] === 1, `applied ${applied.join(',')}`);
  // the flow columns on n1, as migrations 1 and the later ADD COLUMN ones left them
  const n1 = nodeClient('n1');
  const columns = async (c: ReturnType<typeof nodeClient>, table: string): Promise<string[]> =>
    (await q<{ name: string; type: string }>(c, `SELECT name, type FROM system.columns WHERE database = '${database}' AND table = '${table}' ORDER BY name`)).map((r) => `${r.name} ${r.type}`);
  const flowColumns = await columns(n1, 'flows');
  await n1.close();
  assert.ok(flowColumns.length > 100, `${flowColumns.length} flow columns`);
  // migration 8: the service-port rollups and their views; the old rollups' views are gone (their tables stay)
  const want = new Set([
    ...REPLICATED, 'flows_all', 'flows_landed_all', 'flows_1m_all', 'flows_5m_all', 'flows_1h_all', 'flows_landed_mv',
    'rollup_1m_all', 'rollup_5m_all', 'rollup_1h_all', 'rollup_1m_mv', 'rollup_5m_from_1m_mv', 'rollup_1h_from_1m_mv',
  ]);
  for (const n of NODES) {
    const c = nodeClient(n.name);
    try {
      const tables = await q<{ name: string; engine: string }>(c, `SELECT name, engine FROM system.tables WHERE database = '${database}'`);
      assert.deepEqual(new Set(tables.map((t) => t.name)), want, `${n.name}: tables`);
      for (const t of tables) {
        if (REPLICATED.includes(t.name)) assert.match(t.engine, /^Replicated/, `${n.name}: ${t.name} engine`);
        if (t.name.endsWith('_all')) assert.equal(t.engine, 'Distributed', `${n.name}: ${t.name} engine`);
      }
      assert.deepEqual(await columns(c, 'flows'), flowColumns, `${n.name}: flows columns`);
      assert.deepEqual(await columns(c, 'flows_all'), flowColumns, `${n.name}: flows_all columns`);
      // the migrations table is one replica set over the cluster: every node lists every version, once
      await c.command({ query: `SYSTEM SYNC REPLICA ${database}.schema_migrations` });
      const versions = (await q<{ version: number }>(c, `SELECT version FROM ${database}.schema_migrations ORDER BY version`)).map((r) => Number(r.version));
      assert.deepEqual(versions, applied, `${n.name}: schema_migrations`);
    } finally {
      await c.close();
    }
  }
  const other = ClickHouseStore.open({ url: NODES[2].url, database, cluster: CLUSTER });
  try {
    assert.deepEqual(await other.migrate(), []);
  } finally {
    await other.close();
  }
});

test('cluster: rows land on both shards, each batch on one, and the queries sum them', async () => {
  const bs = Array.from({ length: 16 }, (_, k) => enrichedBatch(200 + 10 * k, 100 + k, T0 + k * 60_000, 600_000));
  const metas = bs.map((b, k) => metaFor('acme', `spread/${k}`, b.length));
  const total = bs.reduce((a, b) => a + b.length, 0);
  const res = await store.writeBatches(bs.map((batch, k) => ({ meta: metas[k]!, batch })));
  assert.deepEqual(res.map((r) => r.written), bs.map(() => true));
  await syncReplicas(database, ['flows']);

  // each batch whole on exactly one shard; both shards used; the second replica mirrors the first
  const perNode = new Map<NodeName, Map<string, number>>();
  for (const n of NODES) {
    const c = nodeClient(n.name);
    try {
      const rows = await q<{ batch_id: string; n: string }>(c, `SELECT batch_id, count() AS n FROM ${database}.flows GROUP BY batch_id`);
      perNode.set(n.name, new Map(rows.map((r) => [r.batch_id, Number(r.n)])));
    } finally {
      await c.close();
    }
  }
  const shard1 = perNode.get('n1')!;
  const shard2 = perNode.get('n3')!;
  assert.deepEqual(perNode.get('n2'), shard1, 'replica n2 holds what n1 holds');
  assert.ok(shard1.size > 0 && shard2.size > 0, `batches per shard: ${shard1.size} and ${shard2.size}`);
  metas.forEach((m, k) => {
    const on = [shard1.get(m.id), shard2.get(m.id)].filter((x) => x !== undefined);
    assert.deepEqual(on, [bs[k]!.length], `batch ${m.id}: all its rows on one shard`);
  });

  for (const use of ['raw', '1m', '5m', '1h'] as const) {
    assert.deepEqual((await store.timeSeries('acme', { ...HOUR, metric: 'flows', use })).points, [{ t: T0, value: total }], use);
  }
  const bytesRaw = await store.timeSeries('acme', { ...HOUR, metric: 'bytes', use: 'raw' });
  assert.deepEqual((await store.timeSeries('acme', { ...HOUR, metric: 'bytes', use: '1h' })).points, bytesRaw.points, 'bytes: rollup = raw');
  const top = await store.topN('acme', { ...HOUR, metric: 'flows', dimensions: ['dst_k8s_namespace'], n: 1000 });
  assert.equal(top.rows.reduce((a, r) => a + r.value, 0), total, 'topN sums both shards');
  for (const k of [0, 7, 15]) {
    const back = await store.readBatch('acme', metas[k]!.id);
    assert.equal(back.length, bs[k]!.length, `readBatch ${k}`);
    assert.deepEqual(back.row(3), bs[k]!.row(3), `readBatch ${k} row 3`);
  }
});

test('cluster: a batch written twice counts once: again through the ledger, and raced by two writers on two nodes', async () => {
  const b = enrichedBatch(500, 9001, T0 + 3 * 3_600_000, 600_000);
  const meta = metaFor('twice', 'once/1', b.length);
  assert.deepEqual(await store.writeBatch(meta, b), { written: true });
  assert.deepEqual(await store.writeBatch(meta, b), { written: false });

  // Two writers, entering the cluster by different nodes, write the same new batches at the same
  // time: both find no ledger entry and both insert. The shard keeps each batch's block once.
  // (Whichever checks the ledger after the other's entry answers written: false; not asserted.)
  const other = ClickHouseStore.open({ url: NODES[2].url, database, cluster: CLUSTER });
  try {
    const raced = [1, 2, 3, 4].map((k) => enrichedBatch(300 + k, 9100 + k, T0 + 3 * 3_600_000 + k * 60_000, 600_000));
    const items = raced.map((batch, k) => ({ meta: metaFor('twice', `race/${k}`, batch.length), batch }));
    // grouped differently (one call of four; four calls in reverse order): only per-batch blocks match
    await Promise.all([store.writeBatches(items), (async () => { for (const it of [...items].reverse()) await other.writeBatches([it]); })()]);
    const total = b.length + raced.reduce((a, x) => a + x.length, 0);
    await syncReplicas(database, ['flows', 'rollup_1m', 'rollup_1h']);
    const where = "WHERE tenant = 'twice'";
    // raw rows without FINAL, and the rollups' sums, on the shard replicas that hold them
    assert.equal((await localCount('n1', `flows ${where}`)) + (await localCount('n3', `flows ${where}`)), total, 'raw rows, no duplicate');
    assert.equal((await localCount('n2', `flows ${where}`)), await localCount('n1', `flows ${where}`), 'n2 = n1');
    for (const r of ['rollup_1m', 'rollup_1h']) {
      assert.equal((await localCount('n1', `${r} ${where}`, 'sum(flows)')) + (await localCount('n3', `${r} ${where}`, 'sum(flows)')), total, `${r}: each batch once`);
    }
    const q4 = { from: T0 + 3 * 3_600_000, to: T0 + 4 * 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    for (const use of ['raw', '1m', '1h'] as const) {
      assert.deepEqual((await store.timeSeries('twice', { ...q4, use })).points, [{ t: q4.from, value: total }], use);
    }
  } finally {
    await other.close();
  }
});

test('cluster: retention deletes what is due on every shard and replica, and keeps the rest', async () => {
  const D0 = Date.UTC(2024, 9, 1, 8);
  const old = Array.from({ length: 6 }, (_, k) => enrichedBatch(100 + k, 9500 + k, D0 + k * 60_000, 600_000));
  const recent = Array.from({ length: 6 }, (_, k) => enrichedBatch(100 + k, 9600 + k, D0 + 40 * 86_400_000 + k * 60_000, 600_000));
  await store.writeBatches([...old, ...recent].map((batch, k) => ({ meta: metaFor('ret', `ret/${k}`, batch.length), batch })));
  const keep = recent.reduce((a, b) => a + b.length, 0);
  // 45 days after D0 with 30 days of raw flows: the old batches' raw rows go, the recent ones stay
  const report = await store.applyRetention(new Date(D0 + 45 * 86_400_000));
  assert.equal(report.flows.rows, old.reduce((a, b) => a + b.length, 0), 'raw rows reported deleted');
  await syncReplicas(database, ['flows']);
  const where = "WHERE tenant = 'ret'";
  await until('the mutation done on every replica', 60_000, async () =>
    (await localCount('n1', `flows ${where}`)) + (await localCount('n3', `flows ${where}`)) === keep && (await localCount('n2', `flows ${where}`)) === (await localCount('n1', `flows ${where}`)),
  );
  const q = { from: D0, to: D0 + 41 * 86_400_000, stepSeconds: 41 * 86_400, metric: 'flows' as const, use: 'raw' as const };
  assert.deepEqual((await store.timeSeries('ret', q)).points.reduce((a, p) => a + p.value, 0), keep);
});

test('cluster: a store written at migration 7 upgrades to the service-port rollups with every flow (the fill reads every shard)', async () => {
  const db = `${database}_up`;
  const old = ClickHouseStore.open({ url: NODES[0].url, database: db, cluster: CLUSTER });
  const c = nodeClient('n1');
  try {
    // the cluster schema as migrations 1-7 left it, recorded as applied
    const ft = await old.features();
    const run = async (sql: string, settings?: Readonly<Record<string, number>>, onCluster = true): Promise<void> => {
      const res = await c.exec({ query: sql, ...(settings ? { clickhouse_settings: settings } : {}) });
      let text = '';
      for await (const chunk of res.stream) text += String(chunk);
      if (onCluster) checkOnClusterAnswer(text, sql.slice(0, 60));
    };
    for (const st of clusterBootstrap(db, CLUSTER)) await run(st.sql, st.settings, st.onCluster);
    for (const m of clusterMigrations(db, CLUSTER, clickhouseMigrations(db, ft).filter((x) => x.version <= 7))) {
      for (const st of m.statements) await run(st.sql, st.settings, st.onCluster);
      await c.command({ query: `INSERT INTO ${db}.schema_migrations VALUES (${m.version}, '${m.name}', now(), '${ft.version}')` });
    }
    // rows written by that schema: its views feed the dst_port-keyed rollups, on both shards
    const bs = Array.from({ length: 8 }, (_, k) => enrichedBatch(300 + k, 600 + k, T0 + k * 60_000, 3_000_000));
    await old.writeBatches(bs.map((batch, k) => ({ meta: metaFor('acme', `up/${k}`, batch.length), batch })));
    const total = bs.reduce((a, b) => a + b.length, 0);
    assert.deepEqual(await old.migrate(), [8]);
    await syncReplicas(db, ['rollup_1m', 'rollup_5m', 'rollup_1h']);
    for (const r of ['rollup_1m', 'rollup_5m', 'rollup_1h']) {
      const sum = async (n: NodeName): Promise<number> => {
        const x = nodeClient(n);
        try {
          return Number((await q<{ n: string }>(x, `SELECT sum(flows) AS n FROM ${db}.${r}`))[0]?.n ?? 0);
        } finally {
          await x.close();
        }
      };
      assert.equal((await sum('n1')) + (await sum('n3')), total, `${r}: every flow once over the shards`);
      assert.equal(await sum('n2'), await sum('n1'), `${r}: n2 = n1`);
    }
    const range = { from: T0, to: T0 + 2 * 3_600_000 };
    const raw = await old.topN('acme', { ...range, dimensions: ['service_port', 'dst_k8s_workload'], n: 10_000, use: 'raw' });
    for (const use of ['1m', '5m', '1h'] as const) assert.deepEqual((await old.topN('acme', { ...range, dimensions: ['service_port', 'dst_k8s_workload'], n: 10_000, use })).rows, raw.rows, use);
    // and new writes feed the new rollups
    const more = enrichedBatch(100, 700, T0, 3_000_000);
    await old.writeBatch(metaFor('acme', 'up/new', more.length), more);
    assert.deepEqual((await old.timeSeries('acme', { ...range, stepSeconds: 7200, metric: 'flows', use: '1h' })).points, [{ t: T0, value: total + more.length }]);
  } finally {
    await c.close();
    await old.close();
    await dropEverywhere(db);
  }
});
