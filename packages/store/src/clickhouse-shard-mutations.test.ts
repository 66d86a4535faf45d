import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { endpoints } from '@sightline/testkit';
import { checkOnClusterAnswer, GLOBAL_TABLES } from './clickhouse-cluster.js';
import { ClickHouseStore } from './clickhouse-store.js';
import { openStore } from './open-store.js';
import { retentionPolicy } from './retention.js';
import { RAW_FLOW_TABLES } from './schema.js';
import type { WriteItem } from './store.js';
import { CLUSTER, dropEverywhere, nodeClient, NODES, q, syncReplicas, type NodeName } from './testdata/cluster.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// Cluster retention without the ON CLUSTER DDL queue (clickhouse-shard-mutations.ts), against the
// local cluster (`pnpm infra:up clickhouse-cluster`: shard 01 = n1 + n2, shard 02 = n3). On 18.16 an
// `ALTER … ON CLUSTER … DELETE` of a Replicated table could kill a replica's DDL worker ("Node exists,
// …/shards/<n1,n2>/executed"), after which every ON CLUSTER statement timed out: 1 CI run in 6.
const database = `sightline_shardmut_${randomBytes(4).toString('hex')}`;
const DAY = 86_400_000;
/** "now" of the first retention run; the second runs a week later */
const N = Date.UTC(2025, 0, 31, 12);
const DAYS = (d: number) => ({ flows: d, '1m': d, '5m': d, '1h': d });
// every tenant 30 days but `short`, 10: the ledger (and flows_landed, which has no tenant) keeps the longest, 30
const policy = retentionPolicy({ days: DAYS(30), tenants: { short: DAYS(10) } });
const passwordFile = path.join(endpoints().dataDir, 'clickhouse-cluster', 'secrets', 'sightline.password');
const password = readFileSync(passwordFile, 'utf8').trim();
let store: ClickHouseStore;

/** Six batches (so both shards get some) of one tenant around `at`. */
function group(tenant: string, label: string, at: number, seed: number): WriteItem[] {
  return Array.from({ length: 6 }, (_, k) => {
    const batch = enrichedBatch(40 + 7 * k, seed + k, at + k * 60_000, 300_000);
    return { meta: metaFor(tenant, `${label}/${k}`, batch.length), batch };
  });
}
const rows = (g: readonly WriteItem[]): number => g.reduce((a, it) => a + it.batch.length, 0);
const ids = (g: readonly WriteItem[]): string[] => g.map((it) => it.meta.id).sort();

// A: short, 20 days old at the first run (gone then, but its landed counts stay: ledger days 30)
// B: keep, 20 days old (stays through both runs)   C: keep, 45 days old (gone at the first run)
// D: keep, 25 days old, written after the first run, 32 at the second (gone, landed counts too)
// E: short, 5 days old, written after the first run, 12 at the second (gone; landed counts stay)
const A = group('short', 'a', N - 20 * DAY, 100);
const B = group('keep', 'b', N - 20 * DAY, 200);
const C = group('keep', 'c', N - 45 * DAY, 300);
const D = group('keep', 'd', N - 25 * DAY, 400);
const E = group('short', 'e', N - 5 * DAY, 500);

before(async () => {
  // enters by n2, the replica whose DDL worker died in CI; user sightline with its password file:
  // the connections to the other nodes must carry the same credentials
  store = ClickHouseStore.open({
    url: NODES[1].url, database, cluster: CLUSTER, clusterNodes: NODES.map((n) => n.url), username: 'sightline', passwordFile,
  });
  await store.migrate();
  await store.writeBatches([...A, ...B, ...C]);
  await syncAll();
});

after(async () => {
  await store.close();
  await dropEverywhere(database);
});

/** Every replica of every Replicated table of the database has fetched what its set holds (whatever the layout). */
async function syncAll(): Promise<void> {
  const tables = await onNode('n1', (c) => q<{ table: string }>(c, `SELECT table FROM system.replicas WHERE database = '${database}'`));
  await syncReplicas(database, tables.map((t) => t.table));
}

async function onNode<T>(node: NodeName, f: (c: ReturnType<typeof nodeClient>) => Promise<T>): Promise<T> {
  const c = nodeClient(node);
  try {
    return await f(c);
  } finally {
    await c.close();
  }
}

/** The DDL queue's entries (ZooKeeper /clickhouse/task_queue/ddl) naming this test's database. */
async function ddlQueue(): Promise<string[]> {
  const entries = await onNode('n1', (c) => q<{ value: string }>(c, "SELECT value FROM system.zookeeper WHERE path = '/clickhouse/task_queue/ddl'"));
  return entries.map((e) => /^query: (.*)$/m.exec(e.value)?.[1] ?? '').filter((s) => s.includes(`${database}.`));
}

/** Per node, per table of the database with a tenant column: rows by tenant (the node's own parts). */
async function tenantRows(node: NodeName): Promise<Map<string, Map<string, number>>> {
  return onNode(node, async (c) => {
    const tables = await q<{ table: string }>(
      c,
      `SELECT t.name AS table FROM system.tables AS t WHERE t.database = '${database}' AND t.engine LIKE 'Replicated%'
        AND t.name IN (SELECT table FROM system.columns WHERE database = '${database}' AND name = 'tenant')`,
    );
    const out = new Map<string, Map<string, number>>();
    for (const { table } of tables) {
      const r = await q<{ tenant: string; n: string }>(c, `SELECT tenant, count() AS n FROM ${database}.${table} GROUP BY tenant`);
      out.set(table, new Map(r.map((x) => [x.tenant, Number(x.n)])));
    }
    return out;
  });
}

const landed = (node: NodeName): Promise<string[]> =>
  onNode(node, async (c) => (await q<{ b: string }>(c, `SELECT DISTINCT batch_id AS b FROM ${database}.flows_landed ORDER BY b`)).map((r) => r.b));

async function totals(tenant: string): Promise<Record<string, number>> {
  const qy = { from: N - 60 * DAY, to: N + 10 * DAY, stepSeconds: 70 * 86_400, metric: 'flows' as const };
  const out: Record<string, number> = {};
  for (const use of ['raw', '1m', '5m', '1h'] as const) out[use] = (await store.timeSeries(tenant, { ...qy, use })).points.reduce((a, p) => a + p.value, 0);
  return out;
}

test('clusterNodes: http(s) URLs without credentials, with cluster only; errors name the field, never the value', async () => {
  const section = { engine: 'clickhouse' as const, url: 'http://a:8123', database: 'd', cluster: 'c' };
  await assert.rejects(openStore({ ...section, clusterNodes: ['http://u:s3cret@b:8123'] }), (e: Error) => /clusterNodes\.0: no credentials in the URL/.test(e.message) && !e.message.includes('s3cret'));
  await assert.rejects(openStore({ ...section, clusterNodes: ['ftp://b'] }), /clusterNodes\.0: an http:\/\/ or https:\/\/ URL/);
  await assert.rejects(openStore({ ...section, clusterNodes: ['not a url s3cret'] }), (e: Error) => /clusterNodes\.0: /.test(e.message) && !e.message.includes('s3cret'));
  await assert.rejects(openStore({ ...section, cluster: undefined, clusterNodes: ['http://b:8123'] }), /clusterNodes: clusterNodes needs cluster/);
  assert.throws(() => ClickHouseStore.open({ url: 'http://a:8123', database: 'd', cluster: 'c', clusterNodes: ['http://u:s3cret@b:8123'] }), (e: Error) => /no credentials/.test(e.message) && !e.message.includes('s3cret'));
  // the section reaches the store: a cluster store from openStore takes the list (used below through ClickHouseStore.open)
  const s = await openStore({ ...section, clusterNodes: ['http://b:8123', 'https://c:8443'] });
  await s.close();
});

test('cluster retention without clusterNodes on the local cluster (one host, three ports): a clear error naming the shards reached, no password, nothing deleted', async () => {
  // discovered nodes: 127.0.0.1 (every host of remote_servers) with the store URL's port, n2's: shard 01 only
  const discovering = ClickHouseStore.open({ url: NODES[1].url, database, cluster: CLUSTER, username: 'sightline', passwordFile });
  try {
    await assert.rejects(discovering.applyRetention(new Date(N), policy), (e: Error) => {
      // the first table retention expires: a raw table (flows_<cloud> since store migration 9)
      assert.match(e.message, new RegExp(`${database}\\.flows\\w* on cluster ${CLUSTER}: 1 of its 2 shards reached .*set clusterNodes`));
      assert.ok(e.message.includes(`reached ${new URL(NODES[1].url).origin} (shard `), e.message);
      assert.ok(!e.message.includes(password), 'no password in the error');
      return true;
    });
  } finally {
    await discovering.close();
  }
  assert.deepEqual(await totals('short'), { raw: rows(A), '1m': rows(A), '5m': rows(A), '1h': rows(A) }, 'nothing deleted');
  assert.deepEqual((await ddlQueue()).filter((s) => /^ALTER TABLE .* DELETE /.test(s)), [], 'no mutation in the DDL queue');
});

test('cluster retention, twice, over every table it expires: one mutation per replica set and none through the DDL queue; every DDL worker still answers; the due rows are gone from every replica, the rest stay', async () => {
  const r1 = await store.applyRetention(new Date(N), policy);
  assert.equal(r1.flows.rows, rows(A) + rows(C), 'run 1: raw rows');
  await store.writeBatches([...D, ...E]);
  await syncAll();
  const r2 = await store.applyRetention(new Date(N + 7 * DAY), policy);
  assert.equal(r2.flows.rows, rows(D) + rows(E), 'run 2: raw rows');

  // Right when the run returns (it waits for the mutations on every replica it reached), on each
  // node's own tables: `short` is gone from every table with a tenant; `keep` holds B only.
  const per = new Map<NodeName, Map<string, Map<string, number>>>();
  for (const n of NODES) per.set(n.name, await tenantRows(n.name));
  const tablesSeen = [...per.get('n1')!.keys()].sort();
  for (const t of ['batches', 'rollup_1m', 'rollup_5m', 'rollup_1h']) assert.ok(tablesSeen.includes(t), `${t} checked (tables: ${tablesSeen.join(', ')})`);
  // the raw rows: in the table `flows`, or (layout b, ClickHouse migration 9) in a table per cloud behind the view `flows`
  const raw = tablesSeen.filter((t) => t === 'flows' || RAW_FLOW_TABLES.includes(t));
  assert.ok(raw.length > 0, `raw tables checked (tables: ${tablesSeen.join(', ')})`);
  for (const [node, tables] of per) {
    for (const [t, byTenant] of tables) {
      assert.equal(byTenant.get('short') ?? 0, 0, `${node}.${t}: tenant short expired`);
      assert.deepEqual(byTenant, per.get(node === 'n2' ? 'n1' : node)!.get(t), `${node}.${t}: the same as its shard's other replica`);
    }
  }
  const keepRaw = raw.reduce((a, t) => a + (per.get('n1')!.get(t)!.get('keep') ?? 0) + (per.get('n3')!.get(t)!.get('keep') ?? 0), 0);
  assert.equal(keepRaw, rows(B), 'raw rows of keep: B only, over both shards');
  for (const n of NODES) assert.equal(per.get(n.name)!.get('batches')!.get('keep'), B.length, `${n.name}: ledger (global) holds B's batches`);
  assert.deepEqual(await totals('keep'), { raw: rows(B), '1m': rows(B), '5m': rows(B), '1h': rows(B) }, 'keep through the store: B only');
  assert.deepEqual(await totals('short'), { raw: 0, '1m': 0, '5m': 0, '1h': 0 });
  // flows_landed (no tenant, the longest ledger days): C and D went, A, B and E stay
  const l1 = await landed('n1');
  assert.deepEqual(await landed('n2'), l1, 'flows_landed: n2 = n1');
  assert.deepEqual([...l1, ...(await landed('n3'))].sort(), [...ids(A), ...ids(B), ...ids(E)].sort(), 'flows_landed over both shards');

  // The DDL queue carries this database's migrations and nothing of retention
  const before = await ddlQueue();
  assert.ok(before.some((s) => s.startsWith('CREATE TABLE ')), 'the probe sees this database\'s DDL');
  assert.deepEqual(before.filter((s) => /^ALTER TABLE .* DELETE /.test(s)), [], 'no mutation went through the DDL queue');

  // One mutation per replica set and run: the same ids on both replicas of shard 01, and the
  // global tables' (one replica set over every node) the same two on all three nodes (through the
  // DDL queue each shard would run its own: four)
  const mutations = (node: NodeName) =>
    onNode(node, async (c) => {
      const r = await q<{ table: string; ids: string[]; done: string }>(
        c,
        `SELECT table, groupArray(mutation_id) AS ids, min(is_done) AS done FROM (SELECT * FROM system.mutations WHERE database = '${database}' ORDER BY mutation_id) GROUP BY table`,
      );
      return new Map(r.map((x) => [x.table, { ids: x.ids, done: Number(x.done) }]));
    });
  const m1 = await mutations('n1');
  const m2 = await mutations('n2');
  const m3 = await mutations('n3');
  assert.deepEqual(m2, m1, 'shard 01: both replicas list the same mutations, all done');
  // (a table gets one whenever a run finds due rows in it on any shard: every table here, and at least one raw table)
  const rawMutated = raw.filter((t) => m1.has(t));
  assert.ok(rawMutated.length > 0, 'a raw table mutated');
  for (const t of [...rawMutated, 'flows_landed', 'rollup_1m', 'rollup_5m', 'rollup_1h', 'batches']) {
    assert.equal(m1.get(t)?.ids.length, 2, `${t}: one mutation per run on shard 01 (${JSON.stringify(m1.get(t))})`);
    assert.equal(m3.get(t)?.ids.length, 2, `${t}: one mutation per run on shard 02`);
    assert.equal(m1.get(t)?.done, 1, `${t}: done`);
  }
  for (const [t, m] of [...m1, ...m3]) assert.ok(m.ids.length <= 2 && m.done === 1, `${t}: at most one mutation per run, done (${JSON.stringify(m)})`);
  for (const t of GLOBAL_TABLES) if (m1.has(t)) assert.deepEqual(m3.get(t), m1.get(t), `${t}: one replica set over every node`);

  // Every node's DDL worker still runs tasks: an ON CLUSTER statement answers from all three in a short bound
  for (const sql of [`CREATE TABLE ${database}.scratch ON CLUSTER ${CLUSTER} (x UInt8) ENGINE = Memory`, `DROP TABLE ${database}.scratch ON CLUSTER ${CLUSTER}`]) {
    const text = await onNode('n1', async (c) => {
      const res = await c.exec({ query: sql, clickhouse_settings: { distributed_ddl_task_timeout: '60' } });
      let s = '';
      for await (const chunk of res.stream) s += String(chunk);
      return s;
    });
    checkOnClusterAnswer(text, sql);
    const hosts = new Set(text.trim().split('\n').map((l) => l.split('\t').slice(0, 2).join(':')));
    assert.equal(hosts.size, NODES.length, `${sql}: every node answered (${[...hosts].join(', ')})`);
  }
});
