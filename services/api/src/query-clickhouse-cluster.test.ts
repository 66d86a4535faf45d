import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { ClickHouseStore } from '@sightline/store';
import { queryContract, seed, type Seeded } from './query-contract.test.js';
import { ClickHouseRunner } from './query-runner.js';

// The query API over the local ClickHouse cluster (`pnpm infra:up clickhouse-cluster`: two shards, the
// first with two replicas), the store in cluster mode: the same contract as on one server, answered
// from the Distributed tables over both shards. One database, seeded once (the contract's queries do
// not write), dropped from every node at the end.
const urls = (process.env.SIGHTLINE_CLICKHOUSE_CLUSTER_URLS ?? 'http://127.0.0.1:8131,http://127.0.0.1:8132,http://127.0.0.1:8133').split(',');
const cluster = 'sightline';
const database = `sightline_apiq_cluster_${randomBytes(4).toString('hex')}`;
let seeded: Promise<Seeded> | undefined;

after(async () => {
  if (seeded === undefined) return;
  // the server's HTTP interface directly: the api does not depend on the ClickHouse client
  await fetch(urls[0]!, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database} ON CLUSTER ${cluster}` });
});

async function open(): Promise<{ runner: ClickHouseRunner; seeded: Seeded; close: () => Promise<void> }> {
  seeded ??= (async () => {
    const writer = ClickHouseStore.open({ url: urls[0]!, database, cluster });
    try {
      await writer.migrate();
      return await seed(writer, database);
    } finally {
      await writer.close();
    }
  })();
  const s = await seeded;
  // the reader enters by the other shard's node
  const runner = await ClickHouseRunner.open({ url: urls[2]!, database, cluster });
  return { runner, seeded: s, close: () => runner.close() };
}

if (process.env.SIGHTLINE_SKIP_INFRA !== '1') queryContract('clickhouse cluster', open);
