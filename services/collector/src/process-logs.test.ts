import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminS3, awsFlowLog, awsKey, awsSource, createBucket, putObject, skipInfra, uniqueName, writeConfig } from './testdata/harness.js';
import { createGcsBucket, deleteGcsBucket, gcpFlowLog, gcpSource, gcsDay, gcsShard } from './testdata/clouds.js';
import { spawnCollector } from './testdata/process.js';

/**
 * Log shippers read a service's output as one JSON object a line. The collector process reads more
 * objects per source than an EventEmitter's default listener limit (10), where a listener left on
 * the source's long-lived abort signal after each read made Node print a MaxListenersExceededWarning
 * (text on stderr, and a leak of every finished stream). Nothing but JSON from start to exit.
 */
test('collector process: every stdout/stderr line is JSON over many objects per source (no MaxListenersExceededWarning)', { skip: skipInfra, timeout: 180_000 }, async () => {
  const OBJECTS = 14;
  const s3 = adminS3();
  const s3Bucket = uniqueName('jsonlog');
  await createBucket(s3, s3Bucket);
  const gcsName = uniqueName('jsonlog');
  const gcs = await createGcsBucket(gcsName);
  try {
    const day = gcsDay();
    for (let i = 0; i < OBJECTS; i++) {
      await putObject(s3, s3Bucket, awsKey(`j${i}`), awsFlowLog(50, 100 + i, 3));
      await gcs.file(gcsShard(day, i, 'S0')).save(gcpFlowLog(50, 200 + i, 3), { resumable: false });
    }
    const config = await writeConfig({ prefix: `${uniqueName('t')}.`, sources: [awsSource(s3Bucket), gcpSource(gcsName)] });
    const p = spawnCollector(['--config', config, '--once']);
    const code = await p.exited;
    assert.equal(code, 0, `--once exits 0:\n${p.lines.slice(-10).join('\n')}`);
    assert.deepEqual(p.notJson(), [], 'lines that are not JSON');
  } finally {
    await deleteGcsBucket(gcs);
  }
});
