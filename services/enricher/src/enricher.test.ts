import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { KubeMetaRecordSchema } from '@sightline/kube-model';
import type { StoreConfig } from './config.js';
import { parseConfig } from './config.js';
import { Enricher, openStore } from './enricher.js';
import { EnricherMetrics } from './metrics.js';
import {
  at, countFlows, createTopics, deleteTopics, enricherConfig, flowMessage, kubeMeta, progress, publish, publishKubeMeta, skipInfra,
  tempClickHouse, tempDuckDB, uniqueName, until,
} from './testdata/harness.js';

const quiet = pino({ level: process.env.SIGHTLINE_LOG_LEVEL ?? 'warn' }, pino.destination(2));
const FROM = at('2026-11-26T10:00:00Z');
const TO = at('2026-11-26T10:30:00Z');

async function withEngines(fn: (store: StoreConfig, engine: string) => Promise<void>): Promise<void> {
  await fn(await tempDuckDB(), 'duckdb');
  const ch = tempClickHouse();
  try {
    await fn(ch.cfg, 'clickhouse');
  } finally {
    await ch.drop();
  }
}

async function drained(group: string, topic: string): Promise<void> {
  await until(`group ${group} to commit every message of ${topic}`, () => progress(group, topic), (p) => p.end > 0 && p.committed === p.end, 90_000);
}

async function metric(m: EnricherMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const all = await m.registry.getSingleMetricAsString(name);
  let sum = 0;
  for (const line of all.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(' ').pop());
  }
  return sum;
}

test('end to end: kube-meta and flows of two tenants in, attributed flows in the store, each tenant with its own metadata', { skip: skipInfra, timeout: 240_000 }, async () => {
  await withEngines(async (storeCfg, engine) => {
    const prefix = `${uniqueName('e2e')}.`;
    const group = uniqueName('g');
    const topics = await createTopics(prefix);
    try {
      // Same addresses in both tenants' clusters: only the tenant of the batch header may decide.
      await publishKubeMeta(topics.kubeMeta, [...kubeMeta('acme', 'eks-prod', 'web'), ...kubeMeta('globex', 'eks-globex', 'api')]);
      const msgs = [
        flowMessage({ tenant: 'acme', object: 'a/1.log.gz', seq: 0, rows: 300, startMs: at('2026-11-26T10:10:00Z'), src: '10.0.1.22', dst: '172.20.0.10' }),
        // 10.0.1.21 changed hands at 10:20-10:21: at 10:25 it is the new pod's
        flowMessage({ tenant: 'acme', object: 'a/1.log.gz', seq: 1, rows: 200, startMs: at('2026-11-26T10:25:00Z'), src: '10.0.1.21', dst: '10.0.1.10' }),
        flowMessage({ tenant: 'globex', object: 'g/1.log.gz', seq: 0, rows: 100, startMs: at('2026-11-26T10:10:00Z'), src: '10.0.1.22', dst: '172.20.0.10' }),
        // no metadata for this tenant at all: stored, every end null
        flowMessage({ tenant: 'initech', object: 'i/1.log.gz', seq: 0, rows: 50, startMs: at('2026-11-26T10:10:00Z'), src: '10.0.1.22', dst: '172.20.0.10' }),
      ];
      await publish(topics.flows, msgs);

      const metrics = new EnricherMetrics(false);
      const e = await Enricher.start(parseConfig(enricherConfig(prefix, group, storeCfg), 'test'), quiet, metrics);
      try {
        await drained(group, topics.flows);

        // A pod started after the metadata watermark, its record published just before the flows that
        // use it: the batch is ahead of the watermark, so it waits until the kube-meta consumer has
        // applied what the topic held, and finds the pod.
        const iso = (ms: number) => new Date(ms).toISOString();
        const late = KubeMetaRecordSchema.parse({
          type: 'upsert', tenant: 'acme', cluster: 'eks-prod', epoch: 2, at: iso(at('2026-11-26T10:50:00Z')),
          object: {
            kind: 'Pod', uid: 'e2f9a7c5-6b1d-4e3f-9a2b-0c7d6e5f9a15', name: 'web-7d4b9-pqrst', namespace: 'shop', createdAt: iso(at('2026-11-26T10:50:00Z')),
            startTime: iso(at('2026-11-26T10:50:00Z')), node: 'ip-10-0-1-10.ec2.internal', podIPs: ['10.0.1.40'], phase: 'Running',
            ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d4b9', uid: '0f3a9d61-2c7b-4e55-a1c8-6b4d2e9f7a03', controller: true }],
          },
        });
        await publishKubeMeta(topics.kubeMeta, [{ key: `acme/eks-prod/Pod/${late.type === 'upsert' ? late.object.uid : ''}`, value: late }]);
        await publish(topics.flows, [flowMessage({ tenant: 'acme', object: 'a/2.log.gz', seq: 0, rows: 40, startMs: at('2026-11-26T10:55:00Z'), src: '10.0.1.40', dst: '172.20.0.10' })]);
        await drained(group, topics.flows);
        assert.ok(await metric(metrics, 'sightline_enricher_meta_waits_total', { outcome: 'caught-up' }) >= 1, `${engine}: the batch ahead of the watermark waited`);

        const h = await fetch(`http://127.0.0.1:${e.port}/healthz`);
        assert.equal(h.status, 200, `${engine}: healthy while running`);
        assert.equal((await fetch(`http://127.0.0.1:${e.port}/readyz`)).status, 200, `${engine}: ready while consuming`);
        const text = await (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text();
        assert.match(text, /sightline_enricher_written_flows_total\{tenant="acme"\} 540$/m);
        assert.equal(await metric(metrics, 'sightline_enricher_unattributed_total', { tenant: 'initech' }), 100);
      } finally {
        await e.stop();
      }

      const store = await openStore(storeCfg);
      try {
        const top = async (tenant: string) => (await store.topN(tenant, {
          from: Math.floor(FROM / 1000) * 1000, to: Math.ceil(TO / 1000) * 1000, metric: 'flows', use: 'raw', n: 10,
          dimensions: ['src_k8s_pod', 'src_k8s_workload', 'dst_k8s_kind', 'dst_k8s_service', 'dst_k8s_node'],
        })).rows.map((r) => [...r.key, r.value]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
        assert.deepEqual(await top('acme'), [
          ['web-7d4b9-fghij', 'web', 'service', 'web', null, 300],
          ['web-7d4b9-klmno', 'web', 'node', null, 'ip-10-0-1-10.ec2.internal', 200],
        ], `${engine}: acme's flows attributed with acme's metadata at the flows' own time`);
        assert.deepEqual(await top('globex'), [['api-7d4b9-fghij', 'web', 'service', 'web', null, 100]], `${engine}: globex's flows with globex's pods`);
        assert.deepEqual(await top('initech'), [[null, null, null, null, null, 50]], `${engine}: no metadata, no guess`);
        const lateTop = await store.topN('acme', { from: Math.floor(at('2026-11-26T10:50:00Z') / 1000) * 1000, to: Math.ceil(at('2026-11-26T11:00:00Z') / 1000) * 1000, metric: 'flows', use: 'raw', dimensions: ['src_k8s_pod'] });
        assert.deepEqual(lateTop.rows.map((r) => [r.key[0], r.value]), [['web-7d4b9-pqrst', 40]], `${engine}: the late pod's flows attributed after the wait`);
      } finally {
        await store.close();
      }
    } finally {
      await deleteTopics(prefix);
    }
  });
});

test('exactly once: a batch published twice, and again after a restart, is stored once', { skip: skipInfra, timeout: 240_000 }, async () => {
  await withEngines(async (storeCfg, engine) => {
    const prefix = `${uniqueName('once')}.`;
    const group = uniqueName('g');
    const topics = await createTopics(prefix);
    const cfg = parseConfig(enricherConfig(prefix, group, storeCfg), 'test');
    try {
      await publishKubeMeta(topics.kubeMeta, kubeMeta());
      const one = flowMessage({ tenant: 'acme', object: 'a/dup.log.gz', seq: 0, rows: 400, startMs: at('2026-11-26T10:10:00Z'), src: '10.0.1.22', dst: '172.20.0.10' });
      const two = flowMessage({ tenant: 'acme', object: 'a/dup.log.gz', seq: 1, rows: 100, startMs: at('2026-11-26T10:11:00Z'), src: '10.0.1.22', dst: '172.20.0.10' });
      // the collector's at-least-once: the same batch twice in a row (same key, same partition)
      await publish(topics.flows, [one, one, two]);
      const m1 = new EnricherMetrics(false);
      const first = await Enricher.start(cfg, quiet, m1);
      try {
        await drained(group, topics.flows);
      } finally {
        await first.stop();
      }
      assert.equal(await metric(m1, 'sightline_enricher_written_batches_total'), 2, `${engine}: two distinct batches written`);
      assert.equal(await metric(m1, 'sightline_enricher_duplicate_batches_total'), 1, `${engine}: the repeat dropped`);

      // A collector restarted after a crash publishes the batch again, long after: a fresh enricher
      // has no memory of it, so the store's ledger must drop it.
      await publish(topics.flows, [one]);
      const m2 = new EnricherMetrics(false);
      const second = await Enricher.start(cfg, quiet, m2);
      try {
        await drained(group, topics.flows);
      } finally {
        await second.stop();
      }
      assert.equal(await metric(m2, 'sightline_enricher_duplicate_batches_total', { where: 'store' }), 1, `${engine}: the store's ledger dropped the late repeat`);
      assert.equal(await metric(m2, 'sightline_enricher_written_batches_total'), 0);

      const store = await openStore(storeCfg);
      try {
        assert.equal(await countFlows(store, 'acme', FROM, TO), 500, `${engine}: every flow once`);
      } finally {
        await store.close();
      }
    } finally {
      await deleteTopics(prefix);
    }
  });
});
