import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DUMMY_SECRET, adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, perObject, putObject, readTopic, skipInfra, uniqueName, writeConfig,
} from './testdata/harness.js';
import { spawnCollector } from './testdata/process.js';

/**
 * A collector process killed with SIGKILL in the middle of an object, then restarted: every flow
 * of every object reaches Kafka at least once, and the repeats carry the ids of the batches they
 * repeat (same id, same record count), so the store can drop them.
 */
test('SIGKILL mid-object, restart: every flow at least once, repeats identified by batch id', { skip: skipInfra, timeout: 180_000 }, async () => {
  const s3 = adminS3();
  const bucket = uniqueName('kill');
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, bucket);
  const expected = new Map<string, number>();
  const big = awsKey('big');
  // Large enough that publishing it takes well over the time it takes to see its first batch.
  await putObject(s3, bucket, big, awsFlowLog(400_000, 11));
  expected.set(big, 400_000);
  for (let i = 0; i < 3; i++) {
    const k = awsKey(`small${i}`);
    await putObject(s3, bucket, k, awsFlowLog(5000, 20 + i));
    expected.set(k, 5000);
  }
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  const config = await writeConfig({ prefix, sources: [awsSource(bucket)], collector: { workers: 1, inflightBatches: 2, batchRows: 2048 } });

  const first = spawnCollector(['--config', config]);
  try {
    await first.started;
    // Kill as soon as the big object's first batches are acknowledged (visible to a consumer).
    const seen = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.some((m) => m.meta.source.key === big), 60_000);
    assert.ok(seen.some((m) => m.meta.source.key === big), `the first collector published part of the big object:\n${first.lines.slice(-10).join('\n')}`);
  } finally {
    first.child.kill('SIGKILL');
  }
  await first.exited;

  const before = perObject(await readTopic(`${prefix}flows`, decodeFlow, () => false, 3000));
  const partial = before.get(big)?.records ?? 0;
  assert.ok(partial > 0 && partial < 400_000, `killed mid-object (${partial} of 400000 flows were out)`);

  const second = spawnCollector(['--config', config, '--once']);
  const code = await second.exited;
  assert.equal(code, 0, `the restarted backfill succeeds:\n${second.lines.slice(-20).join('\n')}`);

  const all = await readTopic(`${prefix}flows`, decodeFlow, (msgs) => {
    const per = perObject(msgs);
    return [...expected].every(([k, n]) => (per.get(k)?.records ?? 0) >= n);
  }, 60_000);
  const per = perObject(all);
  let distinct = 0;
  for (const [key, n] of expected) {
    const o = per.get(key);
    assert.ok(o, `${key}: in Kafka`);
    assert.equal(o.records, n, `${key}: every flow, counted once per batch id`);
    assert.equal(o.conflicting, 0, `${key}: a repeated id always carries the same batch`);
    assert.equal(o.messages, o.ids.size + o.repeats);
    distinct += o.records;
  }
  assert.equal(distinct, total);
  assert.ok(per.get(big)!.repeats > 0, 'the batches published before the kill were published again, under the same ids');
  for (const l of [...first.lines, ...second.lines]) assert.ok(!l.includes(DUMMY_SECRET), `no secret in: ${l}`);
});
