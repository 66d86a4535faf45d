import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { parseConfig } from './config.js';
import { Enricher } from './enricher.js';
import { EnricherMetrics } from './metrics.js';
import {
  at, createTopics, deleteTopics, enricherConfig, flowMessage, kubeMeta, progress, publish, publishKubeMeta, skipInfra, tempDuckDB, uniqueName, until,
} from './testdata/harness.js';

const quiet = pino({ level: process.env.SIGHTLINE_LOG_LEVEL ?? 'warn' }, pino.destination(2));

async function gauge(m: EnricherMetrics, name: string): Promise<number> {
  const v = (await m.registry.getSingleMetric(name)?.get())?.values ?? [];
  return v.reduce((a, s) => a + s.value, 0);
}

test('pending rows: back to 0 once the store confirmed every batch and the offsets are committed', { skip: skipInfra, timeout: 180_000 }, async () => {
  const prefix = `${uniqueName('pending')}.`;
  const group = uniqueName('g');
  const topics = await createTopics(prefix);
  try {
    await publishKubeMeta(topics.kubeMeta, kubeMeta());
    const msgs = Array.from({ length: 12 }, (_, i) => flowMessage({ tenant: 'acme', object: `a/${i % 4}.log.gz`, seq: Math.floor(i / 4), rows: 250, startMs: at('2026-11-26T10:10:00Z') + i * 1000, src: '10.0.1.22', dst: '172.20.0.10' }));
    await publish(topics.flows, msgs);
    const metrics = new EnricherMetrics(false);
    const e = await Enricher.start(parseConfig(enricherConfig(prefix, group, await tempDuckDB()), 'test'), quiet, metrics);
    try {
      await until('the group to commit every message', () => progress(group, topics.flows), (p) => p.end === msgs.length && p.committed === p.end, 90_000);
      assert.equal(await gauge(metrics, 'sightline_enricher_written_flows_total'), 12 * 250, 'every flow written');
      // the last write's rows are released right after its commit: wait for it, bounded
      await until('sightline_enricher_pending_rows to drop to 0', () => gauge(metrics, 'sightline_enricher_pending_rows'), (v) => v === 0, 15_000, 50);
    } finally {
      await e.stop();
    }
  } finally {
    await deleteTopics(prefix);
  }
});
