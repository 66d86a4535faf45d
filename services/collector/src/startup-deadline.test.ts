import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { awsSource, uniqueName, writeConfig } from './testdata/harness.js';
import { spawnCollector } from './testdata/process.js';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A collector whose Kafka never answers does not sit there without its port: it logs each try of
 * the step it is at, gives up at the start-up deadline naming that step, and the process ends.
 */
test('a collector that cannot get through start-up fails loudly by its deadline, naming the stuck step', { timeout: 60_000 }, async (t) => {
  const port = await closedPort();
  const config = await writeConfig({
    prefix: `${uniqueName('t')}.`,
    sources: [awsSource(uniqueName('b'))],
    kafka: { brokers: [`127.0.0.1:${port}`] },
    startup: { timeoutMs: 4000, attemptMs: 1500 },
  });
  const t0 = Date.now();
  const c = spawnCollector(['--config', config]);
  c.started.catch(() => undefined); // rejects when the process ends before it started: the point of this test
  const code = await c.exited;
  const took = Date.now() - t0;
  const json = c.lines.flatMap((l) => { try { return [JSON.parse(l) as { msg?: string; step?: string; level?: number }]; } catch { return []; } });
  const text = c.lines.slice(-12).join('\n');
  assert.equal(code, 1, `exit status 1:\n${text}`);
  assert.ok(took < 25_000, `ended by the deadline plus bounded clean-up (${took} ms)`);
  assert.ok(json.filter((l) => l.msg === 'start-up: ensure topics').length >= 2, `each try of the step logged:\n${text}`);
  assert.ok(json.some((l) => l.level === 40 && l.msg?.startsWith('start-up: ensure topics did not finish within 1500 ms; retrying')), text);
  const fatal = json.find((l) => l.level === 50 && l.msg?.startsWith('collector failed to start: '));
  assert.ok(fatal, `a fatal line:\n${text}`);
  assert.equal(fatal.step, 'ensure topics');
  assert.match(fatal.msg ?? '', /start-up step 'ensure topics' did not finish within \d+ ms/);
  assert.ok(!json.some((l) => l.msg === 'collector started'), 'never claimed to be up');
  // kafkajs retries an abandoned connect on its own; the process still ends (main.ts).
  t.diagnostic(`exited ${took} ms after its start`);
});
