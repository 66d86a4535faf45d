import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupOf } from './interface-groups.js';
import { sourceId, type SourceConfig } from './config.js';
import { SourceConfigSchema } from '@sightline/object-store';
import {
  adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, perObject, putObject, readTopic, skipInfra, uniqueName, until, writeConfig,
} from './testdata/harness.js';
import { health, spawnCollector, type CollectorProcess } from './testdata/process.js';

const WORK_PARTITIONS = 6;

/**
 * Two collector processes share four sources through the consumer group (two each, no source
 * run twice, so new objects are published once); when one is killed, the other takes its sources
 * over from their checkpoints and publishes what arrives next.
 */
test('two collectors share the sources, and one takes over when the other dies', { skip: skipInfra, timeout: 240_000 }, async (t) => {
  const s3 = adminS3();
  const prefix = `${uniqueName('t')}.`;
  // The collectors' assigner deals the work partitions in id order (work-assigner.ts; kafkajs's
  // own one follows the broker's metadata order, which KRaft does not keep sorted), so of two
  // members one owns the even partitions and the other the odd ones: pick two sources of each
  // so the split is two and two.
  const buckets: string[] = [];
  const parity = [0, 0];
  while (buckets.length < 4) {
    const b = uniqueName('so');
    const p = groupOf(sourceId(SourceConfigSchema.parse(awsSource(b)) as SourceConfig), WORK_PARTITIONS) % 2;
    if (parity[p]! >= 2) continue;
    parity[p]!++;
    buckets.push(b);
    await createBucket(s3, b);
  }
  const config = await writeConfig({ prefix, sources: buckets.map((b) => awsSource(b)), kafka: { workPartitions: WORK_PARTITIONS } });
  const expected = new Map<string, number>();
  const putRound = async (round: string) => {
    const keys: string[] = [];
    for (const [i, b] of buckets.entries()) {
      const k = awsKey(`${round}${i}`);
      await putObject(s3, b, k, awsFlowLog(3000, keys.length + round.length * 31 + i));
      expected.set(k, 3000);
      keys.push(k);
    }
    return keys;
  };
  const allIn = async (keys: string[]) => {
    let per = perObject([]);
    await until(`flows of ${keys.length} objects in Kafka`, async () => {
      per = perObject(await readTopic(`${prefix}flows`, decodeFlow, (m) => { const p = perObject(m); return keys.every((k) => (p.get(k)?.records ?? 0) >= 3000); }, 15_000));
      return keys.every((k) => (per.get(k)?.records ?? 0) >= 3000);
    }, 90_000, 500);
    return per;
  };

  const procs: CollectorProcess[] = [spawnCollector(['--config', config]), spawnCollector(['--config', config])];
  // A test that times out never reaches its finally: without this hook the two children keep the
  // test file alive and the whole suite waits for them.
  t.after(() => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });
  try {
    const [pa, pb] = (await Promise.all(procs.map((p) => p.started))) as [number, number];
    // Where each collector's start-up spent its time (a stuck one fails its `started` with its last lines).
    for (const [i, p] of procs.entries()) {
      const steps = p.lines.flatMap((l) => { try { return [JSON.parse(l) as { msg?: string; step?: string; ms?: number; attempt?: number }]; } catch { return []; } })
        .filter((l) => l.msg?.endsWith(': done') && l.step).map((l) => `${l.step} ${l.ms} ms${l.attempt! > 1 ? ` (try ${l.attempt})` : ''}`);
      t.diagnostic(`collector ${i} start-up: ${steps.join(', ')}`);
    }
    let seen = '';
    await until('the sources split two and two', async () => {
      const [a, b] = await Promise.all([health(pa), health(pb)]);
      seen = JSON.stringify([a.sources, b.sources]);
      return a.sources.length === 2 && b.sources.length === 2 && new Set([...a.sources, ...b.sources]).size === 4;
    }, 60_000, 250).catch((err: unknown) => {
      const assignments = procs.map((p) => p.lines.filter((l) => l.includes('"work assignment"')).slice(-3));
      throw new Error(`${err instanceof Error ? err.message : String(err)}; last seen ${seen}; assignments ${JSON.stringify(assignments)}`);
    });

    const round1 = await putRound('one');
    const per1 = await allIn(round1);
    for (const k of round1) assert.equal(per1.get(k)!.repeats, 0, `${k}: published by one collector only`);

    procs[0]!.child.kill('SIGKILL');
    await procs[0]!.exited;
    await until('the survivor owns all four sources', async () => (await health(pb)).sources.length === 4, 60_000, 250);

    const round2 = await putRound('two');
    const per2 = await allIn(round2);
    for (const k of [...round1, ...round2]) {
      assert.equal(per2.get(k)?.records, expected.get(k), `${k}: every flow at least once`);
      assert.equal(per2.get(k)?.conflicting, 0);
    }
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
  }
});
