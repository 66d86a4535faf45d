// One benchmark run for one emulator, in its own process so its peak RSS is its own: writes
// OBJECTS objects of LINES flows each where the cloud writes them, parses them in memory
// (parse-only), then collects them with `--once` to Kafka, and prints one JSON line.
//   node --import tsx bench/emulator-run.ts s3|gcs|azure      (driven by collector.bench.ts)
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { newStats, parseObject } from '@sightline/parsers';
import { Collector } from '../src/collector.js';
import { createLogger } from '../src/log.js';
import { adminS3, awsFlowLog, awsKey, awsSource, createBucket, putObject, uniqueName, writeConfig } from '../src/testdata/harness.js';
import {
  Pt1hWriter, adminAzure, azureSource, createGcsBucket, deleteGcsBucket, gcpFlowLog, gcpSource, gcsDay, gcsShard, newSubscription, uniqueContainer, vnetBlobName, vnetRecord,
} from '../src/testdata/clouds.js';

const Emulator = z.enum(['s3', 'gcs', 'azure']);
const emulator = Emulator.parse(process.argv[2]);
const OBJECTS = z.coerce.number().int().min(1).parse(process.env.BENCH_OBJECTS ?? 4);
const LINES = z.coerce.number().int().min(100).parse(process.env.BENCH_LINES ?? 50_000);
/** flow tuples per Azure record and records per block, as a busy NIC's minute would have */
const TUPLES = 100;
const RECORDS_PER_BLOCK = 10;

interface Prepared { source: Record<string, unknown>; docs: { name: string; body: Buffer }[]; cleanup: () => Promise<void> }

async function prepare(): Promise<Prepared> {
  const docs: { name: string; body: Buffer }[] = [];
  switch (emulator) {
    case 's3': {
      const s3 = adminS3();
      const bucket = uniqueName('bench');
      await createBucket(s3, bucket);
      for (let i = 0; i < OBJECTS; i++) {
        const body = awsFlowLog(LINES, 1000 + i);
        const key = awsKey(`bench${i}`);
        await putObject(s3, bucket, key, body);
        docs.push({ name: key, body });
      }
      return { source: awsSource(bucket), docs, cleanup: async () => undefined };
    }
    case 'gcs': {
      const name = uniqueName('bench');
      const bucket = await createGcsBucket(name);
      const day = gcsDay();
      for (let i = 0; i < OBJECTS; i++) {
        const body = gcpFlowLog(LINES, 1000 + i);
        const key = gcsShard(day, i % 24, i < 24 ? 'S0' : `A${i}:${Math.floor(Date.now() / 1000)}`);
        await bucket.file(key).save(body, { resumable: false });
        docs.push({ name: key, body });
      }
      return { source: gcpSource(name), docs, cleanup: () => deleteGcsBucket(bucket) };
    }
    case 'azure': {
      const sub = newSubscription();
      const container = uniqueContainer('bench');
      const ct = adminAzure().getContainerClient(container);
      await ct.create();
      const now = Date.now();
      let seed = 1;
      for (let i = 0; i < OBJECTS; i++) {
        const w = new Pt1hWriter(ct, vnetBlobName(sub, now, (0x100000000000 + i).toString(16).toUpperCase()));
        await w.append(Array.from({ length: Math.ceil(LINES / TUPLES) }, () => vnetRecord(sub, TUPLES, seed++, now)), RECORDS_PER_BLOCK);
        docs.push({ name: w.name, body: w.document() });
      }
      return { source: azureSource(sub, { nsg: null, vnet: container }), docs, cleanup: async () => { await ct.delete().catch(() => undefined); } };
    }
  }
}

const p = await prepare();
const storedMiB = p.docs.reduce((a, d) => a + d.body.length, 0) / 1048576;
try {
  let t0 = performance.now();
  let parsed = 0;
  for (const d of p.docs) {
    for await (const b of parseObject({ name: d.name, open: () => (async function* () { yield d.body; })() }, { source: 'bench', stats: newStats(), onIssue: () => undefined, batchCapacity: 8192 })) parsed += b.length;
  }
  const parseS = (performance.now() - t0) / 1000;

  const config = await writeConfig({ prefix: `${uniqueName('bench')}.`, sources: [p.source], collector: { workers: 2, batchRows: 8192, inflightBatches: 8 }, kafka: { flowsPartitions: 6 } });
  let records = 0;
  const c = await Collector.start({ configFile: config, once: true, log: createLogger({ level: 'warn' }), onUnit: (_r, res) => { records += res.records; } });
  t0 = performance.now();
  await c.done;
  const runS = (performance.now() - t0) / 1000;
  await c.stop();
  if (c.failures > 0 || records !== parsed) throw new Error(`${emulator}: published ${records} flows of ${parsed} (${c.failures} failed units)`);
  console.log(JSON.stringify({
    emulator, objects: OBJECTS, flows: parsed, storedMiB: +storedMiB.toFixed(1),
    parseRate: parsed / parseS, e2eRate: records / runS, peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }));
} finally {
  await p.cleanup();
}
// kafkajs and the SDKs keep sockets in their pools: the run is over.
process.exit(0);
