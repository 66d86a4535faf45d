import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  at, createTopics, deleteTopics, enricherConfig, flowMessage, kubeMeta, progress, publish, publishKubeMeta, skipInfra, tempClickHouse, uniqueName, until, writeConfig,
} from './testdata/harness.js';
import { spawnEnricher } from './testdata/process.js';

/**
 * Log shippers read a service's output as one JSON object a line: the enricher's process, with the
 * ClickHouse store (whose client has its own logger, text on the console by default), writes nothing else
 * from its start to its graceful stop.
 */
test('enricher process: every stdout/stderr line is JSON, ClickHouse client messages included', { skip: skipInfra, timeout: 180_000 }, async () => {
  const prefix = `${uniqueName('jsonlog')}.`;
  const group = uniqueName('g');
  const topics = await createTopics(prefix);
  const ch = tempClickHouse();
  try {
    await publishKubeMeta(topics.kubeMeta, kubeMeta());
    await publish(topics.flows, Array.from({ length: 8 }, (_, i) => flowMessage({ tenant: 'acme', object: `a/${i}.log.gz`, seq: 0, rows: 200, startMs: at('2026-11-26T10:10:00Z') + i * 1000, src: '10.0.1.22', dst: '172.20.0.10' })));
    const p = spawnEnricher(['--config', await writeConfig(enricherConfig(prefix, group, ch.cfg))]);
    try {
      await p.started;
      await until('the group to commit every message', () => progress(group, topics.flows), (s) => s.end === 8 && s.committed === s.end, 90_000);
    } finally {
      p.child.kill('SIGTERM');
    }
    assert.equal(await p.exited, 0, `graceful stop:\n${p.lines.slice(-10).join('\n')}`);
    assert.ok(p.lines.some((l) => l.includes('"enricher stopped"')), 'the process logged to its end');
    assert.deepEqual(p.notJson(), [], 'lines that are not JSON');
    // the client's config warning (request_timeout above 60 s) arrives as a structured line
    assert.ok(p.lines.some((l) => l.includes('"component":"clickhouse-client"')), `the ClickHouse client logs through the process logger:\n${p.lines.join('\n')}`);
  } finally {
    await deleteTopics(prefix);
    await ch.drop();
  }
});
