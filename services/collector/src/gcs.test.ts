import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { newStats, parseObject } from '@sightline/parsers';
import type { ObjectRef } from '@sightline/object-store';
import { fixturePath } from '@sightline/testkit';
import { Collector } from './collector.js';
import { DeadLetter } from './dead-letter.js';
import { createLogger } from './log.js';
import { decodeFlow, perObject, readTopic, skipInfra, uniqueName, writeConfig } from './testdata/harness.js';
import { GCP_PROJECT, createGcsBucket, deleteGcsBucket, gcpFlowLog, gcpSource, gcsDay, gcsShard } from './testdata/clouds.js';


async function parsedCount(body: Buffer, name: string): Promise<number> {
  let n = 0;
  for await (const b of parseObject({ name, open: () => (async function* () { yield body; })() }, { source: name, stats: newStats(), onIssue: () => undefined })) n += b.length;
  return n;
}

test('GCS through the collector: hourly S0 shards, then a late A0 shard of a past hour; every flow in Kafka once per object', { skip: skipInfra, timeout: 180_000 }, async () => {
  const bucketName = uniqueName('gcs');
  const bucket = await createGcsBucket(bucketName);
  const prefix = `${uniqueName('t')}.`;
  try {
    const day = gcsDay();
    const objects = new Map<string, Buffer>();
    const put = async (key: string, body: Buffer) => { objects.set(key, body); await bucket.file(key).save(body, { resumable: false }); return key; };
    await put(gcsShard(day, 0, 'S0'), gcpFlowLog(4000, 51));
    const s01 = await put(gcsShard(day, 1, 'S0'), gcpFlowLog(2500, 52, 5));
    await put(gcsShard(day, 2, 'S0'), await readFile(fixturePath('parsers', 'gcp/vpc_flows.ndjson')));
    const notFlow = await put(gcsShard(day, 3, 'S0'), Buffer.from('the export of another log, not flows\n'));

    const config = await writeConfig({ prefix, sources: [gcpSource(bucketName)] });
    const units: ObjectRef[] = [];
    const first = await Collector.start({ configFile: config, once: true, log: createLogger({ level: 'silent' }), onUnit: (ref) => units.push(ref) });
    await first.done;
    await first.stop();
    assert.equal(first.failures, 0);
    assert.deepEqual(units.map((u) => u.key).sort(), [...objects.keys()].sort(), 'each S0 shard read once');

    // The addendum for hour 01, written after that hour's S0 was read: its name sorts before it.
    const a01 = gcsShard(day, 1, `A0:${Math.floor(Date.now() / 1000)}`);
    assert.ok(a01 < s01);
    await put(a01, gcpFlowLog(1500, 53));
    units.length = 0;
    const second = await Collector.start({ configFile: config, once: true, log: createLogger({ level: 'silent' }), onUnit: (ref) => units.push(ref) });
    await second.done;
    const metrics = await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text();
    await second.stop();
    assert.equal(second.failures, 0);
    assert.deepEqual(units.map((u) => u.key), [a01], 'the second run reads only the late shard');
    assert.match(metrics, new RegExp(`sightline_collector_objects_read_total\\{tenant="acme",cloud="gcp",account="${GCP_PROJECT}"\\} 1\\n`));

    const expected = new Map<string, number>();
    for (const [key, body] of objects) expected.set(key, key === notFlow ? 0 : await parsedCount(body, key));
    assert.ok([...expected.values()].every((n, i) => n > 0 || [...expected.keys()][i] === notFlow), 'every flow shard parses');
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    const flows = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.reduce((n, m) => n + m.meta.records, 0) >= total);
    const per = perObject(flows);
    for (const [key, n] of expected) {
      if (n === 0) { assert.equal(per.get(key), undefined, `${key}: no flows`); continue; }
      assert.equal(per.get(key)?.records, n, `${key}: every flow`);
      assert.equal(per.get(key)?.repeats, 0, `${key}: once`);
    }
    assert.equal(flows.reduce((n, m) => n + m.meta.records, 0), total, 'nothing else');
    for (const m of flows) {
      assert.equal(m.meta.cloud, 'gcp');
      assert.match(m.key, new RegExp(`^acme/${GCP_PROJECT}/\\d+$`));
    }

    const letters = await readTopic(`${prefix}dead-letter`, (v) => DeadLetter.parse(JSON.parse(v.toString())), (all) => all.some((l) => l.kind === 'bad-object'));
    const bad = letters.filter((l) => l.kind === 'bad-object');
    assert.equal(bad.length, 1, JSON.stringify(letters));
    assert.deepEqual([bad[0]!.ref.cloud, bad[0]!.ref.bucket, bad[0]!.ref.key, bad[0]!.ref.account], ['gcp', bucketName, notFlow, GCP_PROJECT]);
    assert.match(bad[0]!.ref.version, /^\d+$/, 'the generation read');
    assert.match(bad[0]!.reason, /not a flow log/);
  } finally {
    await deleteGcsBucket(bucket);
  }
});
