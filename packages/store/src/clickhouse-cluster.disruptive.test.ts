import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { ClickHouseStore } from './clickhouse-store.js';
import { RAW_FLOW_TABLES } from './schema.js';
import { CLUSTER, clusterUp, dropEverywhere, nodeClient, nodePid, NODES, q, syncReplicas, until, type NodeName } from './testdata/cluster.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// Disruptive (run alone by scripts/test.sh): SIGKILLs replica n2 of the local cluster's first shard
// in the middle of writes and brings it back with `infra.sh up clickhouse-cluster`.
const database = `sightline_cluster_kill_${randomBytes(4).toString('hex')}`;
const T0 = Date.UTC(2024, 10, 27, 8);
// the raw rows are in the cloud tables since migration 9 (these AWS batches in flows_aws); `flows` is the view over them
const TABLES = [...RAW_FLOW_TABLES, 'flows_landed', 'rollup_1m', 'rollup_5m', 'rollup_1h', 'batches'];

after(async () => {
  clusterUp();
  await dropEverywhere(database);
});

async function localSum(node: NodeName, table: string, measure: string): Promise<number> {
  const c = nodeClient(node);
  try {
    return Number((await q<{ n: string }>(c, `SELECT ${measure} AS n FROM ${database}.${table}`))[0]?.n ?? 0);
  } finally {
    await c.close();
  }
}

test('cluster: a replica SIGKILLed in the middle of writes loses and duplicates nothing once it is back', async (t) => {
  // The writer enters by n2, a replica of shard 01: its Distributed inserts put that shard's blocks
  // into n2's own tables, so the kill lands in the middle of inserts on n2 (a Distributed table of
  // another node prefers the replica with fewer errors, and on 18.16 they never decay: after one
  // kill it would send nothing to n2 again). After a failed call the writer goes on through n1, as
  // a client behind a load balancer would.
  const viaN2 = ClickHouseStore.open({ url: NODES[1].url, database, cluster: CLUSTER });
  const viaN1 = ClickHouseStore.open({ url: NODES[0].url, database, cluster: CLUSTER });
  let store = viaN2;
  const GROUPS = 20;
  const PER_GROUP = 4;
  const groups = Array.from({ length: GROUPS }, (_, g) =>
    Array.from({ length: PER_GROUP }, (_, j) => {
      const batch = enrichedBatch(400 + ((g * PER_GROUP + j) % 7) * 20, 7000 + g * PER_GROUP + j, T0 + g * 60_000, 600_000);
      return { meta: metaFor('kill', `kill/${g}/${j}`, batch.length), batch };
    }),
  );
  const total = groups.flat().reduce((a, it) => a + it.batch.length, 0);
  let failures = 0;
  let killedAt = -1;
  try {
    await viaN1.migrate();
    const victim = nodePid('n2');
    let done = 0;
    // the writer as the enricher is: a failed call is retried with the same batches until it passes
    const writer = (async () => {
      for (let g = 0; g < GROUPS; g++) {
        for (;;) {
          try {
            await store.writeBatches(groups[g]!);
            break;
          } catch {
            store = viaN1;
            failures++;
            assert.ok(failures < 200, 'writes keep failing with one replica of three down');
          }
        }
        done = g + 1;
      }
    })();
    // the kill, once a quarter of the writes are in and n2 is itself inserting a batch
    const n2 = nodeClient('n2');
    let caught = false;
    try {
      await until('a quarter written', 60_000, async () => done >= GROUPS / 4);
      await until('an insert running on n2', 30_000, async () => {
        // the writer's own INSERT into flows_aws_feed_all (migration 10; flows_aws_all before it), running on n2
        const [r] = await q<{ n: string }>(n2, "SELECT count() AS n FROM system.processes WHERE query LIKE 'INSERT INTO%flows_aws_feed_all%'");
        caught = Number(r?.n ?? 0) > 0;
        // killed here, the moment the insert is seen: on a loaded machine the insert can end while a
        // client closes, and a kill between two calls interrupts nothing
        if (caught) process.kill(victim, 'SIGKILL');
        return caught;
      }).catch(() => undefined);
    } finally {
      await n2.close().catch(() => undefined);
    }
    if (!caught) process.kill(victim, 'SIGKILL');
    killedAt = done;
    await until('n2 is gone', 10_000, async () => {
      try {
        process.kill(victim, 0);
        return false;
      } catch {
        return true;
      }
    });
    await writer;
    t.diagnostic(`n2 killed after ${killedAt} of ${GROUPS} calls, ${caught ? 'during' : 'not seen during'} an insert on it; ${failures} call(s) failed and were retried`);
    assert.ok(killedAt < GROUPS, 'killed before the writes ended');
    assert.ok(caught && failures > 0, 'the kill interrupted an insert on n2');

    // back: the replica fetches what its shard got meanwhile
    clusterUp();
    await syncReplicas(database, TABLES);
    await until('n2 caught up with n1', 120_000, async () => (await localSum('n2', 'flows', 'count()')) === (await localSum('n1', 'flows', 'count()')));

    // nothing lost, nothing twice: raw rows (no FINAL), the landed counts and every rollup
    const shard1 = await localSum('n1', 'flows', 'count()');
    const shard2 = await localSum('n3', 'flows', 'count()');
    assert.equal(shard1 + shard2, total, `raw rows on the shards (${shard1} + ${shard2}), ${failures} failed calls retried`);
    assert.ok(shard1 > 0 && shard2 > 0);
    assert.equal(await localSum('n2', 'flows', 'count()'), shard1, 'n2 = n1 after its return');
    assert.equal((await localSum('n1', 'flows_landed', 'sum(rows)')) + (await localSum('n3', 'flows_landed', 'sum(rows)')), total, 'landed rows');
    for (const r of ['rollup_1m', 'rollup_5m', 'rollup_1h']) {
      for (const n of ['n1', 'n2'] as const) {
        assert.equal((await localSum(n, r, 'sum(flows)')) + (await localSum('n3', r, 'sum(flows)')), total, `${r} via ${n}`);
      }
    }
    const batchIds = await localSum('n2', 'batches FINAL', 'count()');
    assert.equal(batchIds, GROUPS * PER_GROUP, 'every batch in the ledger, on the returned replica too');
    const all = await viaN1.timeSeries('kill', { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows', use: 'raw' });
    assert.deepEqual(all.points, [{ t: T0, value: total }]);
    const roll = await viaN1.timeSeries('kill', { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows', use: '1h' });
    assert.deepEqual(roll.points, [{ t: T0, value: total }]);
  } finally {
    await viaN2.close();
    await viaN1.close();
  }
});
