// Flows per second from moto (S3) through the collector to Kafka, against parse-only throughput
// of the same objects in the same run, and the process's peak RSS.
//   pnpm -C services/collector bench            (needs `pnpm infra:up kafka moto`)
//   BENCH_OBJECTS=8 BENCH_LINES=200000 ... to change the load
import { newStats, parseObject } from '@sightline/parsers';
import { Collector } from '../src/collector.js';
import { createLogger } from '../src/log.js';
import { adminS3, awsFlowLog, awsKey, awsSource, createBucket, putObject, uniqueName, writeConfig } from '../src/testdata/harness.js';

const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 8);
const LINES = Number(process.env.BENCH_LINES ?? 150_000);

const s3 = adminS3();
const bucket = uniqueName('bench');
await createBucket(s3, bucket);
const bodies: Buffer[] = [];
for (let i = 0; i < OBJECTS; i++) {
  const body = awsFlowLog(LINES, 1000 + i);
  bodies.push(body);
  await putObject(s3, bucket, awsKey(`bench${i}`), body);
}
const mb = bodies.reduce((a, b) => a + b.length, 0) / 1048576;

const rssBefore = process.memoryUsage().rss;
let t0 = performance.now();
let parsed = 0;
for (const body of bodies) {
  for await (const b of parseObject({ name: 'x.log.gz', open: () => (async function* () { yield body; })() }, { source: 'bench', stats: newStats(), onIssue: () => undefined, batchCapacity: 8192 })) parsed += b.length;
}
const parseS = (performance.now() - t0) / 1000;

const config = await writeConfig({ prefix: `${uniqueName('bench')}.`, sources: [awsSource(bucket)], collector: { workers: 2, batchRows: 8192, inflightBatches: 8 }, kafka: { flowsPartitions: 6 } });
let records = 0;
t0 = performance.now();
const c = await Collector.start({ configFile: config, once: true, log: createLogger({ level: 'warn' }), onUnit: (_r, res) => { records += res.records; } });
const startS = (performance.now() - t0) / 1000;
t0 = performance.now();
await c.done;
const runS = (performance.now() - t0) / 1000;
await c.stop();
const peakRss = process.resourceUsage().maxRSS / 1024;

const parseRate = parsed / parseS;
const e2eRate = records / runS;
console.log(JSON.stringify({ objects: OBJECTS, linesPerObject: LINES, gzipMiB: +mb.toFixed(1), parsed, published: records }));
console.log(`parse-only (in memory, one core):   ${Math.round(parseRate).toLocaleString('en-US')} flows/s`);
console.log(`moto S3 -> collector -> Kafka:       ${Math.round(e2eRate).toLocaleString('en-US')} flows/s (start-up ${startS.toFixed(1)} s not counted)`);
console.log(`ratio end-to-end / parse-only:       ${(e2eRate / parseRate).toFixed(2)}`);
console.log(`peak RSS: ${peakRss.toFixed(0)} MiB (RSS before the run ${(rssBefore / 1048576).toFixed(0)} MiB, includes the test objects held in memory: ${mb.toFixed(1)} MiB gzip)`);
