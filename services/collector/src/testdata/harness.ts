// Helpers for the collector's integration tests: flow-log objects in moto, a collector config per
// test, and reading the Kafka topics back. The AWS keys are moto's dummies; the secret is
// distinctive so tests can assert it never appears in a log line or an error.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { decodeBatchMeta, type BatchMeta } from '@sightline/flow';
import { TopicReader, endpoints } from '@sightline/testkit';

export const skipInfra = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
export const DUMMY_SECRET = 'collector-dummy-secret-never-print-51c9';
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const TENANT = 'acme';

export const uniqueName = (what: string) => `sl-${what}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

export function adminS3(): S3Client {
  return new S3Client({
    region: REGION, endpoint: endpoints().s3Endpoint, forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: DUMMY_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Where AWS delivers a flow-log object of today (the discovery lists day folders near now). */
export function awsKey(name: string, at = new Date()): string {
  const y = at.getUTCFullYear();
  const m = String(at.getUTCMonth() + 1).padStart(2, '0');
  const d = String(at.getUTCDate()).padStart(2, '0');
  return `AWSLogs/${ACCOUNT}/vpcflowlogs/${REGION}/${y}/${m}/${d}/${ACCOUNT}_vpcflowlogs_${REGION}_fl-${name}_${y}${m}${d}T0000Z_${randomBytes(4).toString('hex')}.log.gz`;
}

const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n';

/**
 * A default-format (v2) AWS flow log of `lines` records, shaped like parsers' testdata/aws/default-v2.log
 * (same fields, realistic ENIs, private addresses, ports and one-minute windows), gzip-compressed.
 * Deterministic for a seed so a test can compute what it expects.
 */
export function awsFlowLog(lines: number, seed: number, interfaces = 40): Buffer {
  const out: string[] = [HEADER];
  let x = seed >>> 0 || 1;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const start = Math.floor(Date.now() / 1000) - 600;
  for (let i = 0; i < lines; i++) {
    const eni = `eni-${(rnd() % interfaces).toString(16).padStart(17, '0')}`;
    const s = start + (i % 300);
    out.push(`2 ${ACCOUNT} ${eni} 10.0.${rnd() % 256}.${rnd() % 256} 10.1.${rnd() % 256}.${rnd() % 256} ${rnd() % 65535} ${[22, 80, 443, 5432][rnd() % 4]} 6 ${1 + (rnd() % 100)} ${40 + (rnd() % 100000)} ${s} ${s + 60} ${rnd() % 10 === 0 ? 'REJECT' : 'ACCEPT'} OK\n`);
  }
  return gzipSync(Buffer.from(out.join('')), { level: 1 });
}

export async function putObject(s3: S3Client, bucket: string, key: string, body: Uint8Array | string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export interface ConfigInput {
  prefix: string;
  sources: Record<string, unknown>[];
  collector?: Record<string, unknown>;
  kafka?: Record<string, unknown>;
  startup?: Record<string, unknown>;
}

export function awsSource(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cloud: 'aws', tenant: TENANT, accountId: ACCOUNT, region: REGION, bucket,
    staticCredentials: { accessKeyId: 'test', secretAccessKey: DUMMY_SECRET }, endpoint: endpoints().s3Endpoint, ...extra,
  };
}

/** Writes a collector configuration with topics under a unique prefix; returns its path. */
export async function writeConfig(c: ConfigInput, dir?: string): Promise<string> {
  const d = dir ?? await mkdtemp(path.join(tmpdir(), 'sl-collector-'));
  const file = path.join(d, 'collector.json');
  await writeFile(file, JSON.stringify({
    kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: c.prefix, flowsPartitions: 3, workPartitions: 6, group: `${c.prefix}collectors`, sessionTimeoutMs: 6000, ...c.kafka },
    collector: { workers: 2, pollIntervalMs: 500, batchRows: 2048, ...c.collector },
    http: { port: 0 },
    ...(c.startup ? { startup: c.startup } : {}),
    sources: c.sources,
  }, null, 2));
  return file;
}

export interface FlowMessage {
  meta: BatchMeta;
  key: string;
  partition: number;
  offset: string;
}

/**
 * Reads a topic from the beginning with a throw-away group, always up to the end offsets the
 * broker reports (fetched again while `enough` is not satisfied: a running collector may still be
 * publishing). `timeoutMs` is how long to wait for the producer to satisfy `enough`; once it has
 * passed, the topic read to its end is returned, and the caller's assertion says what is missing
 * from it: a loss, not a slow read. Reading itself has its own, generous, deadline: a read that
 * cannot reach the end offsets in time fails as SlowReadError with the offsets reached.
 */
export async function readTopic<T>(topic: string, decode: (value: Buffer, key: string, partition: number, offset: string) => T, enough: (all: T[]) => boolean = () => true, timeoutMs = 30_000, readDeadlineMs = 120_000): Promise<T[]> {
  const t0 = Date.now();
  const reader = await TopicReader.open(topic);
  const out: T[] = [];
  let decoded = 0;
  try {
    for (;;) {
      const ends = await reader.ends();
      await reader.reach(ends, Date.now() + readDeadlineMs, t0);
      for (; decoded < reader.messages.length; decoded++) {
        const m = reader.messages[decoded]!;
        if (m.value !== null) out.push(decode(m.value, m.key?.toString() ?? '', m.partition, m.offset));
      }
      if (enough(out) || Date.now() - t0 >= timeoutMs) return out;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await reader.close();
  }
}

export const decodeFlow = (value: Buffer, key: string, partition: number, offset: string): FlowMessage => ({ meta: decodeBatchMeta(value), key, partition, offset });

/** Per source object: distinct batch ids, records counted once per id, and how many messages were repeats. */
export function perObject(msgs: FlowMessage[]): Map<string, { ids: Map<string, number>; records: number; messages: number; repeats: number; conflicting: number }> {
  const out = new Map<string, { ids: Map<string, number>; records: number; messages: number; repeats: number; conflicting: number }>();
  for (const { meta } of msgs) {
    let o = out.get(meta.source.key);
    if (!o) { o = { ids: new Map(), records: 0, messages: 0, repeats: 0, conflicting: 0 }; out.set(meta.source.key, o); }
    o.messages++;
    const prev = o.ids.get(meta.id);
    if (prev === undefined) { o.ids.set(meta.id, meta.records); o.records += meta.records; }
    else { o.repeats++; if (prev !== meta.records) o.conflicting++; }
  }
  return out;
}

/** Awaits a condition that is driven by events elsewhere, polling it, with a message when it never holds. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
