import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, test } from 'node:test';
import { endpoints } from '@sightline/testkit';
import { StoreConfig } from './config.js';
import { openStore } from './enricher.js';

// The enricher's `store` section reaches the store whole: HTTPS with a CA file and a password file
// (the local server's :8443, made by infra/local/services/clickhouse.sh), and cluster mode (the local
// cluster, `pnpm infra:up clickhouse-cluster`).
const ep = endpoints();
const run = `sightline_enr_${randomBytes(4).toString('hex')}`;
const clusterUrl = (process.env.SIGHTLINE_CLICKHOUSE_CLUSTER_URLS ?? 'http://127.0.0.1:8131').split(',')[0]!;

after(async () => {
  await fetch(ep.clickhouseUrl, { method: 'POST', body: `DROP DATABASE IF EXISTS ${run}_tls` });
  await fetch(clusterUrl, { method: 'POST', body: `DROP DATABASE IF EXISTS ${run}_cluster ON CLUSTER sightline` });
});

test('enricher store config: HTTPS with tls.caFile and passwordFile reaches the store', async () => {
  const cfg = StoreConfig.parse({
    engine: 'clickhouse',
    url: process.env.SIGHTLINE_CLICKHOUSE_HTTPS_URL ?? 'https://127.0.0.1:8443',
    database: `${run}_tls`,
    username: 'sightline',
    passwordFile: path.join(ep.dataDir, 'clickhouse', 'secrets', 'sightline.password'),
    tls: { caFile: path.join(ep.dataDir, 'clickhouse', 'tls', 'server.crt') },
  });
  const store = await openStore(cfg); // migrates: a refused login or certificate would throw here
  await store.close();
  const r = await fetch(ep.clickhouseUrl, { method: 'POST', body: `SELECT count() FROM system.tables WHERE database = '${run}_tls' AND name = 'flows'` });
  assert.equal((await r.text()).trim(), '1');
});

test('enricher store config: cluster mode reaches the store (tables on another node of the cluster)', async () => {
  const cfg = StoreConfig.parse({ engine: 'clickhouse', url: clusterUrl, database: `${run}_cluster`, cluster: 'sightline' });
  const store = await openStore(cfg);
  await store.close();
  const n3 = (process.env.SIGHTLINE_CLICKHOUSE_CLUSTER_URLS ?? 'http://127.0.0.1:8131,http://127.0.0.1:8132,http://127.0.0.1:8133').split(',')[2]!;
  // the raw rows' tables (one per cloud since store migration 9) are replicated, `flows` is the view over them
  const r = await fetch(n3, { method: 'POST', body: `SELECT name, engine FROM system.tables WHERE database = '${run}_cluster' AND name IN ('flows', 'flows_all', 'flows_aws', 'flows_aws_all') ORDER BY name` });
  assert.deepEqual((await r.text()).trim().split('\n'), ['flows\tView', 'flows_all\tDistributed', 'flows_aws\tReplicatedReplacingMergeTree', 'flows_aws_all\tDistributed']);
});
