import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { endpoints } from '@sightline/testkit';
import {
  adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, perObject, putObject, readTopic, skipInfra, uniqueName, until, writeConfig,
} from './testdata/harness.js';
import { spawnCollector } from './testdata/process.js';

const run = promisify(execFile);
const infra = (cmd: 'up' | 'down') => run('bash', [path.join(endpoints().repoRoot, 'infra/local/infra.sh'), cmd, 'kafka'], { timeout: 180_000 });

/**
 * The Kafka broker stops and comes back while a collector is publishing: the idempotent producer
 * retries, the backfill finishes, and every flow is in Kafka. The broker is restored in `finally`
 * whatever happens, since other tests need it.
 */
test('Kafka broker restarted during a run: the collector retries and finishes', { skip: skipInfra, timeout: 300_000 }, async () => {
  const s3 = adminS3();
  const bucket = uniqueName('brk');
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, bucket);
  const expected = new Map<string, number>();
  for (let i = 0; i < 8; i++) {
    const k = awsKey(`obj${i}`);
    await putObject(s3, bucket, k, awsFlowLog(80_000, 100 + i));
    expected.set(k, 80_000);
  }
  const config = await writeConfig({ prefix, sources: [awsSource(bucket)], collector: { workers: 1, inflightBatches: 2, batchRows: 2048 } });

  const c = spawnCollector(['--config', config, '--once']);
  let code: number | null = null;
  try {
    await c.started;
    // Stop the broker once the collector is under way (its first batches are out).
    await readTopic(`${prefix}flows`, decodeFlow, (all) => all.length > 0, 60_000);
    await infra('down');
    // The collector must be waiting on Kafka, not finished, while the broker is away.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(c.child.exitCode, null, 'still running while the broker is down');
  } finally {
    await infra('up');
  }
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 150_000);
  code = await c.exited;
  clearTimeout(timer);
  assert.equal(code, 0, `the backfill finished after the broker came back:\n${c.lines.slice(-20).join('\n')}`);
  assert.ok(c.lines.some((l) => /kafka/i.test(l) && /"level":(40|50)/.test(l)), 'the outage was logged');

  let per = perObject([]);
  // on a timeout, say how far each object got: CI saw this wait time out once on Kafka 4.1.1 (the
  // collector had exited 0), and it passed on every run here since; the counts tell lost from slow
  const counts = () => [...expected].map(([k, n]) => `${k.split('/').pop()}: ${per.get(k)?.records ?? 0}/${n}`).join(', ');
  await until('every flow in Kafka after the restart', async () => {
    per = perObject(await readTopic(`${prefix}flows`, decodeFlow, (msgs) => {
      const p = perObject(msgs);
      return [...expected].every(([k, n]) => (p.get(k)?.records ?? 0) >= n);
    }, 30_000));
    return [...expected].every(([k, n]) => (per.get(k)?.records ?? 0) >= n);
  }, 90_000, 1000).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; per object: ${counts()}`);
  });
  for (const [key, n] of expected) {
    assert.equal(per.get(key)?.records, n, `${key}: every flow`);
    assert.equal(per.get(key)?.conflicting, 0);
  }
});
