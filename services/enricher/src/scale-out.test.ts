import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from './enricher.js';
import {
  at, countFlows, createTopics, deleteTopics, enricherConfig, flowMessage, kafka, kubeMeta, progress, publish, publishKubeMeta, skipInfra,
  tempClickHouse, uniqueName, until, writeConfig,
} from './testdata/harness.js';
import { scrape, spawnEnricher } from './testdata/process.js';

/** Two enricher processes in one group share the flows partitions: both get work, and the store holds every flow once. */
test('two enricher processes share the partitions: both work, the sum is exact', { skip: skipInfra, timeout: 300_000 }, async () => {
  const prefix = `${uniqueName('pair')}.`;
  const group = uniqueName('g');
  const topics = await createTopics(prefix);
  const ch = tempClickHouse();
  try {
    await publishKubeMeta(topics.kubeMeta, kubeMeta());
    const cfg = enricherConfig(prefix, group, ch.cfg);
    // no member leaves in this test: a long session keeps a slow write under CI load from causing a rebalance
    cfg.kafka.sessionTimeoutMs = 30_000;
    const config = await writeConfig(cfg);
    const procs = [spawnEnricher(['--config', config]), spawnEnricher(['--config', config])];
    try {
      const ports = await Promise.all(procs.map((p) => p.started));
      // Publish only once both are members with partitions, so neither can take all the work alone.
      const admin = kafka().admin();
      await admin.connect();
      try {
        await until('both enrichers in the group, stable', async () => {
          const { groups } = await admin.describeGroups([group]);
          return { state: groups[0]?.state, members: groups[0]?.members.length ?? 0 };
        }, (g) => g.state === 'Stable' && g.members === 2, 90_000);
      } finally {
        await admin.disconnect();
      }
      const BATCHES = 64;
      const ROWS = 500;
      const t0 = at('2026-11-26T10:00:00Z');
      const msgs = [];
      for (let i = 0; i < BATCHES; i++) {
        msgs.push(flowMessage({ tenant: 'acme', object: `a/${i % 16}.log.gz`, seq: Math.floor(i / 16), rows: ROWS, startMs: t0 + i * 5000, src: '10.0.1.22', dst: '172.20.0.10' }));
      }
      await publish(topics.flows, msgs);
      await until('the group to commit every message', () => progress(group, topics.flows), (p) => p.committed === p.end && p.end === BATCHES, 120_000);
      const written = await Promise.all(ports.map((p) => scrape(p, 'sightline_enricher_written_batches_total')));
      assert.ok(written.every((w) => w > 0), `both processes wrote batches: ${written.join(' + ')}`);
      assert.equal(written[0]! + written[1]!, BATCHES, `each batch written by one of them: ${written.join(' + ')}`);
      for (const p of procs) p.child.kill('SIGTERM');
      const codes = await Promise.all(procs.map((p) => p.exited));
      assert.deepEqual(codes, [0, 0], 'graceful stops');

      const store = await openStore(ch.cfg);
      try {
        assert.equal(await countFlows(store, 'acme', t0, t0 + BATCHES * 5000 + ROWS), BATCHES * ROWS);
        const top = await store.topN('acme', { from: Math.floor(t0 / 1000) * 1000, to: Math.ceil((t0 + BATCHES * 5000 + ROWS) / 1000) * 1000, dimensions: ['src_k8s_pod'], metric: 'flows', use: 'raw' });
        assert.deepEqual(top.rows.map((r) => [r.key[0], r.value]), [['web-7d4b9-fghij', BATCHES * ROWS]], 'attributed by both');
      } finally {
        await store.close();
      }
    } finally {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  } finally {
    await deleteTopics(prefix);
    await ch.drop();
  }
});
