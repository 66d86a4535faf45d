import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from './enricher.js';
import {
  at, countFlows, createTopics, deleteTopics, enricherConfig, flowMessage, kubeMeta, progress, publish, publishKubeMeta, skipInfra,
  tempDuckDB, uniqueName, until, writeConfig,
} from './testdata/harness.js';
import { scrape, spawnEnricher } from './testdata/process.js';

/**
 * A real enricher process killed with SIGKILL while it works through the flows topic, then
 * restarted: the store holds every published flow exactly once. The kill lands between store
 * writes and offset commits at random; whatever was stored but not committed is consumed again
 * and dropped by the store's ledger.
 */
test('SIGKILL mid-stream, restart: every flow in the store exactly once', { skip: skipInfra, timeout: 300_000 }, async () => {
  const prefix = `${uniqueName('kill')}.`;
  const group = uniqueName('g');
  const topics = await createTopics(prefix);
  const storeCfg = await tempDuckDB();
  try {
    await publishKubeMeta(topics.kubeMeta, kubeMeta());
    const BATCHES = 80;
    const ROWS = 1000;
    const t0 = at('2026-11-26T10:00:00Z');
    const msgs = [];
    for (let i = 0; i < BATCHES; i++) {
      const obj = i % 16;
      msgs.push(flowMessage({ tenant: 'acme', object: `a/${obj}.log.gz`, seq: Math.floor(i / 16), rows: ROWS, startMs: t0 + i * 5000, src: '10.0.1.22', dst: '172.20.0.10' }));
    }
    await publish(topics.flows, msgs);
    const config = await writeConfig(enricherConfig(prefix, group, storeCfg));

    const first = spawnEnricher(['--config', config]);
    let killedAt: { committed: number; end: number };
    try {
      await first.started;
      killedAt = await until('the first enricher to commit some batches', () => progress(group, topics.flows), (p) => p.committed >= 5, 120_000, 50);
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    const after = await progress(group, topics.flows);
    assert.ok(after.committed < after.end, `killed mid-stream (${after.committed} of ${after.end} messages committed; ${killedAt.committed} when the kill was sent)`);

    const second = spawnEnricher(['--config', config]);
    let port: number;
    try {
      port = await second.started;
      await until('the restarted enricher to commit every message', () => progress(group, topics.flows), (p) => p.committed === p.end, 180_000);
      const written = await scrape(port, 'sightline_enricher_written_batches_total');
      const dups = await scrape(port, 'sightline_enricher_duplicate_batches_total');
      assert.equal(written + dups, BATCHES - after.committed, 'the restart consumed exactly what was not committed');
    } finally {
      second.child.kill('SIGTERM');
    }
    assert.equal(await second.exited, 0, `graceful stop:\n${second.lines.slice(-10).join('\n')}`);

    const store = await openStore(storeCfg);
    try {
      assert.equal(await countFlows(store, 'acme', t0, t0 + BATCHES * 5000 + ROWS), BATCHES * ROWS, 'every flow, once');
    } finally {
      await store.close();
    }
  } finally {
    await deleteTopics(prefix);
  }
});
