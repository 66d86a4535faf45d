import { randomBytes } from 'node:crypto';
import { createClient } from '@clickhouse/client';
import { ClickHouseStore } from '../src/clickhouse-store.js';
import { CLUSTER, dropEverywhere, NODES } from '../src/testdata/cluster.js';
import { BATCHES, fmt, GROUP, median, ROWS, RUNS, writeWorkload } from './insert-workload.js';

/**
 * Insert rate of the store in cluster mode (the local cluster: 2 shards, the first with 2
 * replicas, `pnpm infra:up clickhouse-cluster`) against the single local server, in the same run
 * with the same batches: each round writes BENCH_BATCHES batches of BENCH_ROWS enriched flows
 * through writeBatches, BENCH_GROUP batches a call (as the enricher hands them over), into a
 * fresh database on each side, the two sides alternating; medians of BENCH_RUNS rounds (default 3)
 * and the ratio cluster/single are printed.
 * The single server is, by default, the cluster's node n3 used as a plain server (the store without
 * `cluster`, plain MergeTree tables in their own database): the same binary and config, and as idle as
 * the cluster, where the shared server on :8123 serves every other test running on the machine
 * (BENCH_SINGLE_URL picks another). All on one machine: the cluster's three servers and ZooKeeper
 * share its cores, so the ratio shows the cluster's cost per row here (replication, ZooKeeper, one
 * block per batch), not what separate machines would give.
 */
const SINGLE_URL = process.env.BENCH_SINGLE_URL ?? NODES[2].url;
let retries = 0;
const run = randomBytes(3).toString('hex');

async function round(side: 'single' | 'cluster', i: number): Promise<number> {
  const database = `sightline_bench_${side}_${run}_${i}`;
  const s = ClickHouseStore.open(side === 'cluster' ? { url: NODES[0].url, database, cluster: CLUSTER } : { url: SINGLE_URL, database });
  try {
    await s.migrate();
    // as the enricher does: a failed call (a connection reset on this loaded machine) is retried
    return await writeWorkload(s, i, 5, () => retries++);
  } finally {
    await s.close();
    if (side === 'cluster') await dropEverywhere(database);
    else {
      const c = createClient({ url: SINGLE_URL });
      await c.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await c.close();
    }
  }
}

const single: number[] = [];
const cluster: number[] = [];
for (let i = 0; i < RUNS; i++) {
  single.push(await round('single', i));
  cluster.push(await round('cluster', i));
  console.log(`round ${i + 1}: single ${fmt(single.at(-1)!)} rows/s, cluster ${fmt(cluster.at(-1)!)} rows/s`);
}
const s = median(single);
const c = median(cluster);
console.log(`insert ${BATCHES} batches x ${ROWS} flows, ${GROUP} batches a call, median of ${RUNS}:`);
console.log(`  single server      ${fmt(s)} rows/s (${SINGLE_URL})`);
console.log(`  cluster (2 shards) ${fmt(c)} rows/s`);
console.log(`  ratio cluster/single ${(c / s).toFixed(2)}x`);
if (retries > 0) console.log(`  (${retries} failed writeBatches call(s) retried)`);
