import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { Collector } from './collector.js';
import { createLogger } from './log.js';
import {
  DUMMY_SECRET, adminS3, awsFlowLog, awsKey, awsSource, createBucket, decodeFlow, perObject, putObject, readTopic, skipInfra, uniqueName, until, writeConfig,
} from './testdata/harness.js';

async function metric(port: number, re: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * The long-running collector: a missing bucket (404 from S3) backs off, is counted and logged and
 * does not stop the other source; the configuration file is reloaded when it changes (a new
 * source starts, a removed one stops), and an invalid change is rejected without a restart.
 */
test('cloud errors back off without crashing; configuration reloads without restart', { skip: skipInfra, timeout: 180_000 }, async () => {
  const s3 = adminS3();
  const prefix = `${uniqueName('t')}.`;
  const good = uniqueName('good');
  const missing = uniqueName('missing');
  const later = uniqueName('later');
  await createBucket(s3, good);
  await createBucket(s3, later);
  const k1 = awsKey('first');
  await putObject(s3, good, k1, awsFlowLog(1000, 1));
  const file = await writeConfig({ prefix, sources: [awsSource(good), awsSource(missing)] });

  const lines: string[] = [];
  const log = createLogger({ destination: new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }) });
  const c = await Collector.start({ configFile: file, log });
  try {
    const port = c.port;
    await until('the missing bucket counted as not-found', async () => (await metric(port, /sightline_collector_errors_total\{[^}]*kind="not-found"\} (\d+)/)) >= 2, 60_000, 250);
    const per = perObject(await readTopic(`${prefix}flows`, decodeFlow, (m) => (perObject(m).get(k1)?.records ?? 0) >= 1000));
    assert.equal(per.get(k1)?.records, 1000, 'the good source goes on');
    assert.ok(lines.some((l) => l.includes(missing) && l.includes('not-found') && l.includes('backing off')), 'the error is logged with the source');

    // Reload: drop the missing bucket, add another source.
    const doc = JSON.parse(await readFile(file, 'utf8'));
    doc.sources = [awsSource(good), awsSource(later)];
    await writeFile(file, JSON.stringify(doc));
    await until('the new source owned', () => c.ownedSources().some((s) => s.includes(later)) && !c.ownedSources().some((s) => s.includes(missing)), 30_000);
    const k2 = awsKey('second');
    await putObject(s3, later, k2, awsFlowLog(500, 2));
    const per2 = perObject(await readTopic(`${prefix}flows`, decodeFlow, (m) => (perObject(m).get(k2)?.records ?? 0) >= 500));
    assert.equal(per2.get(k2)?.records, 500, 'the added source is collected');

    // An invalid change is rejected and the collector keeps its configuration.
    doc.sources[0].region = 'nowhere';
    await writeFile(file, JSON.stringify(doc));
    await until('the invalid reload counted', async () => (await metric(port, /sightline_collector_config_reloads_total\{result="invalid"\} (\d+)/)) >= 1, 30_000);
    assert.equal(c.ownedSources().length, 2);
    assert.ok(lines.some((l) => l.includes('configuration change rejected') && l.includes('sources[0].region')));
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, 'ready once started');
  } finally {
    await c.stop();
  }
  for (const l of lines) assert.ok(!l.includes(DUMMY_SECRET), `no secret in: ${l}`);
});
