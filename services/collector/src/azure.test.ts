import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AzureSourceSchema, azureBlobSource, type ObjectRef } from '@sightline/object-store';
import { newStats, parseObject } from '@sightline/parsers';
import { endpoints } from '@sightline/testkit';
import { Collector } from './collector.js';
import { DeadLetter } from './dead-letter.js';
import { createKafka, createProducer } from '@sightline/service-kit';
import { createLogger } from './log.js';
import { processUnit, type UnitResult } from './unit.js';
import { decodeFlow, readTopic, skipInfra, uniqueName, writeConfig, type FlowMessage } from './testdata/harness.js';
import {
  AZURE_TAIL, Pt1hWriter, adminAzure, azureSource, newSubscription, nsgBlobName, nsgRecord, uniqueContainer, vnetBlobName, vnetRecord,
} from './testdata/clouds.js';

async function parsedCount(body: Buffer, name: string): Promise<number> {
  let n = 0;
  for await (const b of parseObject({ name, open: () => (async function* () { yield body; })() }, { source: name, stats: newStats(), onIssue: () => undefined })) n += b.length;
  return n;
}

/** Distinct batch ids and their records per (blob, block range). */
function perUnit(msgs: FlowMessage[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const { meta } of msgs) {
    const r = meta.source.range;
    const k = `${meta.source.container}/${meta.source.key} ${r?.unit}:${r?.start}-${r?.end}`;
    let ids = out.get(k);
    if (!ids) out.set(k, (ids = new Map()));
    ids.set(meta.id, meta.records);
  }
  return out;
}

const recordsOf = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

test('Azure through the collector: PT1H.json blobs (NSG and VNet) collected, then blocks appended before the tail: only the new records and bytes, new ids; a re-run of a unit yields the same ids', { skip: skipInfra, timeout: 180_000 }, async () => {
  const sub = newSubscription();
  const service = adminAzure();
  const nsgName = uniqueContainer('nsg');
  const vnetName = uniqueContainer('vnet');
  const nsg = service.getContainerClient(nsgName);
  const vnet = service.getContainerClient(vnetName);
  await nsg.create();
  await vnet.create();
  const prefix = `${uniqueName('t')}.`;
  try {
    const now = Date.now();
    const nsgBlob = new Pt1hWriter(nsg, nsgBlobName(sub, now));
    const vnetBlob = new Pt1hWriter(vnet, vnetBlobName(sub, now));
    let seed = 1;
    const nsgRecords = (n: number) => Array.from({ length: n }, () => nsgRecord(sub, 40, seed++));
    const vnetRecords = (n: number) => Array.from({ length: n }, () => vnetRecord(sub, 60, seed++));
    await nsgBlob.append(nsgRecords(3));
    await vnetBlob.append(vnetRecords(2));
    // Written block by block like the others, but its blocks are not flow records.
    const badName = vnetBlobName(sub, now, 'AABBCCDDEEFF');
    const bad = vnet.getBlockBlobClient(badName);
    const badBlocks = ['not the records', ' of a flow log', AZURE_TAIL.toString()].map((s, i) => ({ id: Buffer.from(`bad-${i}`).toString('base64'), body: Buffer.from(s) }));
    for (const b of badBlocks) await bad.stageBlock(b.id, b.body, b.body.length);
    await bad.commitBlockList(badBlocks.map((b) => b.id));

    const config = await writeConfig({ prefix, sources: [azureSource(sub, { nsg: nsgName, vnet: vnetName })] });
    const runOnce = async () => {
      const units: { ref: ObjectRef; r: UnitResult }[] = [];
      const c = await Collector.start({ configFile: config, once: true, log: createLogger({ level: 'silent' }), onUnit: (ref, r) => units.push({ ref, r }) });
      await c.done;
      const metrics = await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text();
      await c.stop();
      assert.equal(c.failures, 0);
      return { units, metrics };
    };

    const run1 = await runOnce();
    const good1 = run1.units.filter((u) => u.ref.key !== badName);
    assert.deepEqual(good1.map((u) => `${u.ref.bucket}:${u.ref.fragment === true}`).sort(), [`${nsgName}:false`, `${vnetName}:false`]);
    for (const u of good1) assert.equal(u.r.issues, 0, `${u.ref.key}: a first unit (head, records, no tail) is a clean unit`);
    const expected1 = await parsedCount(nsgBlob.document(), nsgBlob.name) + await parsedCount(vnetBlob.document(), vnetBlob.name);
    assert.equal(expected1, 3 * 40 + 2 * 60, 'the test blobs parse whole');
    const flows1 = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.reduce((n, m) => n + m.meta.records, 0) >= expected1);
    assert.equal(flows1.reduce((n, m) => n + m.meta.records, 0), expected1, 'every flow of both blobs');
    const units1 = perUnit(flows1);

    // The platform appends: new record blocks staged and committed before the tail.
    const added = await nsgBlob.append(nsgRecords(2)) + await vnetBlob.append(vnetRecords(3));
    const run2 = await runOnce();
    assert.deepEqual(run2.units.map((u) => `${u.ref.bucket}:${u.ref.fragment === true}`).sort(), [`${nsgName}:true`, `${vnetName}:true`], 'one fragment unit per grown blob, none for the bad one');
    assert.equal(run2.units.reduce((n, u) => n + u.r.bytes, 0), added, 'only the new blocks were fetched');
    assert.match(run2.metrics, new RegExp(`sightline_collector_bytes_read_total\\{tenant="acme",cloud="azure",account="${sub}"\\} ${added}\\n`));
    const expected2 = 2 * 40 + 3 * 60;
    assert.match(run2.metrics, new RegExp(`sightline_collector_records_total\\{tenant="acme",cloud="azure",account="${sub}"\\} ${expected2}\\n`));
    for (const u of run2.units) assert.equal(u.r.issues, 0, `${u.ref.key}: a fragment is a clean unit (no bad or unfinished record)`);

    const flows2 = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.reduce((n, m) => n + m.meta.records, 0) >= expected1 + expected2);
    assert.equal(flows2.reduce((n, m) => n + m.meta.records, 0), expected1 + expected2, 'the second run published only the new records');
    const units2 = perUnit(flows2);
    const newUnits = [...units2].filter(([k]) => !units1.has(k));
    assert.equal(newUnits.length, 2);
    assert.equal(newUnits.reduce((n, [, ids]) => n + recordsOf(ids), 0), expected2);
    const ids1 = new Set([...units1.values()].flatMap((m) => [...m.keys()]));
    for (const [k, ids] of newUnits) for (const id of ids.keys()) assert.ok(!ids1.has(id), `${k}: ids differ from the first unit's`);

    // The same unit read again (a crash before its checkpoint): the same ids and record counts.
    const source = azureBlobSource(AzureSourceSchema.parse(azureSource(sub, { nsg: nsgName, vnet: vnetName })));
    const kafka = createKafka(endpoints().kafkaBrokers, 'collector-test', createLogger({ level: 'silent' }));
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      for (const { ref } of run2.units) {
        await processUnit(ref, source.reader, { producer, flowsTopic: `${prefix}flows`, deadLetterTopic: `${prefix}dead-letter`, batchRows: 2048, inflightBatches: 8, keyGroups: 6 });
      }
    } finally {
      await producer.disconnect();
    }
    const before = flows2.length;
    const flows3 = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.length >= before * 2 - flows1.length);
    const again = flows3.filter((m) => m.meta.source.range?.start !== 0);
    const rerun = perUnit(again);
    for (const [k, ids] of newUnits) {
      const r = rerun.get(k);
      assert.ok(r, `${k} re-run`);
      assert.deepEqual([...r].sort(), [...ids].sort(), `${k}: same ids, same records`);
    }
    const counted = new Map<string, number>();
    for (const m of again) counted.set(m.meta.id, (counted.get(m.meta.id) ?? 0) + 1);
    assert.ok([...counted.values()].every((n) => n === 2), 'every message of the re-run repeats one of the second run');

    const letters = await readTopic(`${prefix}dead-letter`, (v) => DeadLetter.parse(JSON.parse(v.toString())), (all) => all.some((l) => l.kind === 'bad-object'));
    assert.deepEqual(letters.map((l) => l.kind), ['bad-object'], `only the bad blob is dead-lettered: ${JSON.stringify(letters)}`);
    const b = letters[0]!;
    assert.deepEqual([b.ref.cloud, b.ref.bucket, b.ref.key, b.ref.account], ['azure', vnetName, badName, sub]);
    assert.deepEqual(b.ref.blocks, { first: 0, last: 2 });
    assert.match(b.reason, /not a flow log/);
  } finally {
    await nsg.delete().catch(() => undefined);
    await vnet.delete().catch(() => undefined);
  }
});

/** The value of `name`'s series whose labels include `account="<account>"`, undefined when there is none. */
function metricOf(metrics: string, name: string, account: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`account="${account}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('Azure through the collector: a PT1H.json written in one upload (Put Blob, no blocks) is collected, then only the records blocks add; a source that finds nothing shows it in metrics and a log line', { skip: skipInfra, timeout: 180_000 }, async () => {
  const sub = newSubscription();
  const idle = newSubscription();
  const service = adminAzure();
  const vnetName = uniqueContainer('vnet-put');
  const emptyName = uniqueContainer('vnet-idle');
  const vnet = service.getContainerClient(vnetName);
  await vnet.create();
  await service.getContainerClient(emptyName).create();
  const prefix = `${uniqueName('t')}.`;
  try {
    let seed = 1;
    const records = Array.from({ length: 3 }, () => vnetRecord(sub, 60, seed++));
    const doc = (n: number) => Buffer.from(`{"records":[${records.slice(0, n).join(',')}]}`);
    const blob = vnet.getBlockBlobClient(vnetBlobName(sub, Date.now()));
    await blob.upload(doc(2), doc(2).length); // as `az storage blob upload` writes it: one Put Blob
    assert.deepEqual((await blob.getBlockList('committed')).committedBlocks ?? [], []);

    const config = await writeConfig({ prefix, sources: [azureSource(sub, { nsg: null, vnet: vnetName }), azureSource(idle, { nsg: null, vnet: emptyName })] });
    const runOnce = async () => {
      const lines: string[] = [];
      const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
      const units: { ref: ObjectRef; r: UnitResult }[] = [];
      const c = await Collector.start({ configFile: config, once: true, log, onUnit: (ref, r) => units.push({ ref, r }) });
      await c.done;
      const metrics = await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text();
      await c.stop();
      assert.equal(c.failures, 0);
      return { units, metrics, logs: lines.map((l) => JSON.parse(l) as { msg: string; source?: string }) };
    };

    const run1 = await runOnce();
    assert.equal(run1.units.length, 1, 'the blob without blocks is read');
    assert.equal(run1.units[0]!.r.issues, 0);
    const expected1 = 2 * 60;
    const flows1 = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.reduce((n, m) => n + m.meta.records, 0) >= expected1);
    assert.equal(flows1.reduce((n, m) => n + m.meta.records, 0), expected1);
    // idle told from stuck: the source that read shows when, the one that never found anything says so
    assert.equal(metricOf(run1.metrics, 'sightline_collector_source_never_read', sub), 0);
    assert.ok(metricOf(run1.metrics, 'sightline_collector_source_last_read_timestamp_seconds', sub)! > Date.now() / 1000 - 600);
    assert.equal(metricOf(run1.metrics, 'sightline_collector_source_never_read', idle), 1);
    assert.equal(metricOf(run1.metrics, 'sightline_collector_source_last_read_timestamp_seconds', idle), 0);
    const said = run1.logs.filter((l) => /has found nothing to read yet/.test(l.msg));
    assert.equal(said.length, 1, JSON.stringify(run1.logs.map((l) => l.msg)));
    assert.ok(said[0]!.source?.includes(idle));

    // blocks committed to it later: the whole content as blocks (head, the records so far, a new one, the tail)
    const whole = doc(3);
    const cut = [12, doc(2).length - 2, whole.length - 2];
    const parts = [whole.subarray(0, cut[0]), whole.subarray(cut[0], cut[1]), whole.subarray(cut[1], cut[2]), whole.subarray(cut[2])];
    const ids = parts.map((_, i) => Buffer.from(`put-${i}`).toString('base64'));
    for (let i = 0; i < parts.length; i++) await blob.stageBlock(ids[i]!, parts[i]!, parts[i]!.length);
    await blob.commitBlockList(ids);
    const run2 = await runOnce();
    assert.equal(run2.units.length, 1);
    assert.equal(run2.units[0]!.r.records, 60, 'only the record the blocks added');
    assert.equal(run2.units[0]!.r.issues, 0);
    const flows2 = await readTopic(`${prefix}flows`, decodeFlow, (all) => all.reduce((n, m) => n + m.meta.records, 0) >= expected1 + 60);
    assert.equal(flows2.reduce((n, m) => n + m.meta.records, 0), expected1 + 60, 'every flow once');
    assert.equal(metricOf(run2.metrics, 'sightline_collector_source_never_read', sub), 0, 'a source with a checkpoint has read before');
  } finally {
    await vnet.delete().catch(() => undefined);
    await service.getContainerClient(emptyName).delete().catch(() => undefined);
  }
});
