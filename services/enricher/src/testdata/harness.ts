// Helpers of the enricher tests: unique topics per run, kube-meta and flow messages from the sample
// data, stores to count in, bounded waits. Everything runs against the real local services.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { ensureTopics, topicOffsets, topicSpecs } from '@sightline/bus';
import { FlowBatch, colIndex, encodeBatch, makeBatchMeta, type BatchMeta } from '@sightline/flow';
import { KubeMetaRecordSchema, partitionFor, type KubeMetaRecord } from '@sightline/kube-model';
import type { FlowStore } from '@sightline/store';
import { endpoints, fixturePath } from '@sightline/testkit';
import type { EnricherConfigInput, StoreConfig } from '../config.js';
import { retrying } from '../enricher.js';
import { pino } from 'pino';

const quietLog = pino({ level: 'silent' });

const { Kafka, logLevel, Partitioners } = kafkajs;

export const skipInfra = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
export const uniqueName = (what: string) => `sl-${what}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
export const ACCOUNT = '111122223333';
export const VPC = 'vpc-0a1b2c3d';
export const FLOWS_PARTITIONS = 4;
export const META_PARTITIONS = 2;

export function kafka(): kafkajs.Kafka {
  return new Kafka({ clientId: 'sightline-enricher-test', brokers: endpoints().kafkaBrokers, logLevel: logLevel.NOTHING });
}

/** The sample's own "now": its records span 2026-11-20 .. 2026-11-26T10:40Z. */
const SAMPLE_NOW = Date.parse('2026-11-26T11:00:00Z');
/** Tests move the sample to the present, so retention (leases, store partitions) never ages it out. */
export const SHIFT_MS = Math.floor(Date.now() / 3_600_000) * 3_600_000 - SAMPLE_NOW;
export const at = (iso: string) => Date.parse(iso) + SHIFT_MS;

/** kube-meta records of attribution's testdata/kube-meta-acme.ndjson, shifted to now; `tenant`/`cluster` rename them (and `podPrefix` the pods). */
export function kubeMeta(tenant = 'acme', cluster = 'eks-prod', podPrefix = 'web'): { key: string; value: KubeMetaRecord | null }[] {
  const text = fs.readFileSync(fixturePath('attribution', 'kube-meta-acme.ndjson'), 'utf8')
    .replace(/"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)"/g, (_m, iso: string) => `"${new Date(Date.parse(iso) + SHIFT_MS).toISOString().replace('.000Z', 'Z')}"`);
  return text.split('\n').filter(Boolean).map((l, i) => {
    const r = JSON.parse(l) as { key: string; value: unknown };
    const key = r.key.replace(/^acme\/eks-prod\//, `${tenant}/${cluster}/`);
    if (r.value === null) return { key, value: null };
    const v = KubeMetaRecordSchema.safeParse(r.value);
    if (!v.success) throw new Error(`kube-meta-acme.ndjson line ${i + 1}: ${v.error.message}`);
    const rec = { ...v.data, tenant, cluster };
    if (rec.type === 'upsert' && rec.object.kind === 'Pod') rec.object = { ...rec.object, name: rec.object.name.replace(/^web/, podPrefix) };
    return { key, value: rec };
  });
}

export async function createTopics(prefix: string): Promise<{ flows: string; kubeMeta: string }> {
  const specs = topicSpecs({ prefix, flows: { partitions: FLOWS_PARTITIONS }, kubeMeta: { partitions: META_PARTITIONS } });
  const admin = kafka().admin();
  await admin.connect();
  try {
    // a retriable metadata error right after creating (brokers busy with other tests' deletions): bounded retries
    await retrying(() => ensureTopics(admin, [specs.flows, specs.kubeMeta]), quietLog, 'ensureTopics');
  } finally {
    await admin.disconnect();
  }
  return { flows: specs.flows.name, kubeMeta: specs.kubeMeta.name };
}

/** Clean-up after a test: a failure here is reported on stderr, never in place of the test's own result. */
export async function deleteTopics(prefix: string): Promise<void> {
  const admin = kafka().admin();
  try {
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  } catch (err) {
    process.stderr.write(`enricher test clean-up: deleting topics ${prefix}*: ${String(err)}\n`);
  } finally {
    await admin.disconnect();
  }
}

export async function publish(topic: string, messages: { key: string; value: Buffer | null; partition?: number }[]): Promise<void> {
  const producer = kafka().producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 50) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 50) });
  } finally {
    await producer.disconnect();
  }
}

/** Publishes kube-meta records as the ingest API does: one partition per cluster, JSON values, tombstones as null. */
export async function publishKubeMeta(topic: string, records: { key: string; value: KubeMetaRecord | null }[]): Promise<void> {
  await publish(topic, records.map((r) => {
    const [tenant, cluster] = r.key.split('/') as [string, string];
    return { key: r.key, value: r.value === null ? null : Buffer.from(JSON.stringify(r.value)), partition: partitionFor(tenant, cluster, META_PARTITIONS) };
  }));
}

export interface FlowSpec {
  tenant: string;
  /** distinguishes batches: the batch id is derived from tenant, object key and seq */
  object: string;
  seq: number;
  rows: number;
  /** flow start of row 0 (ms); rows follow 1 ms apart */
  startMs: number;
  src: string;
  dst: string;
}

/** One encoded SLFB message of AWS flows src → dst:443 inside the sample VPC. */
export function flowMessage(s: FlowSpec): { key: string; value: Buffer; meta: BatchMeta } {
  const b = new FlowBatch(s.rows);
  const str = (f: string, v: string) => b.strings(colIndex(f)).fill(v, 0, s.rows);
  str('cloud', 'aws');
  str('account', ACCOUNT);
  str('vpc_id', VPC);
  str('src_addr', s.src);
  str('dst_addr', s.dst);
  str('action', 'accept');
  const start = b.numbers(colIndex('start'));
  const end = b.numbers(colIndex('end'));
  const num = (f: string) => b.numbers(colIndex(f));
  for (let r = 0; r < s.rows; r++) {
    start[r] = s.startMs + r;
    end[r] = s.startMs + r + 30_000;
    num('src_port')[r] = 30_000 + (r % 20_000);
    num('dst_port')[r] = 443;
    num('protocol')[r] = 6;
    num('packets')[r] = 10;
    num('bytes')[r] = 1000 + r;
  }
  b.length = s.rows;
  const meta = makeBatchMeta({
    tenant: s.tenant, cloud: 'aws', account: ACCOUNT,
    source: { container: 'flow-logs', key: s.object, version: null, range: null },
    seq: s.seq, records: s.rows,
  });
  return { key: `${s.tenant}/${ACCOUNT}/${s.object}`, value: encodeBatch(meta, b), meta };
}

/** Flows of `tenant` stored with a flow start in [fromMs, toMs) (raw table, so a raced duplicate would show). */
export async function countFlows(store: FlowStore, tenant: string, fromMs: number, toMs: number): Promise<number> {
  const from = Math.floor(fromMs / 1000) * 1000;
  const to = Math.ceil(toMs / 1000) * 1000;
  const r = await store.timeSeries(tenant, { from, to, stepSeconds: (to - from) / 1000, metric: 'flows', use: 'raw' });
  return r.points.reduce((a, p) => a + p.value, 0);
}

export async function tempDuckDB(): Promise<StoreConfig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sl-enricher-'));
  return { engine: 'duckdb', path: path.join(dir, 'flows.duckdb') };
}

/** A ClickHouse database of its own for one test, dropped by `drop()`. */
export function tempClickHouse(): { cfg: StoreConfig; drop(): Promise<void> } {
  const database = `enricher_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const url = endpoints().clickhouseUrl;
  return {
    cfg: { engine: 'clickhouse', url, database, username: 'default', password: '' },
    drop: async () => {
      // clean-up: reported, never in place of the test's own result
      const r = await fetch(url, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch((err: unknown) => err);
      if (!(r instanceof Response) || !r.ok) process.stderr.write(`enricher test clean-up: DROP DATABASE ${database}: ${r instanceof Response ? `HTTP ${r.status}` : String(r)}\n`);
    },
  };
}

export function enricherConfig(prefix: string, group: string, store: StoreConfig, extra: Partial<EnricherConfigInput['enricher']> = {}): EnricherConfigInput {
  return {
    kafka: { brokers: endpoints().kafkaBrokers, topicPrefix: prefix, flowsPartitions: FLOWS_PARTITIONS, kubeMetaPartitions: META_PARTITIONS, group, sessionTimeoutMs: 10_000 },
    store,
    enricher: { metaWaitMs: 5000, ...extra },
    http: { port: 0 },
  };
}

export async function writeConfig(cfg: EnricherConfigInput): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sl-enricher-cfg-'));
  const file = path.join(dir, 'enricher.json');
  await writeFile(file, JSON.stringify(cfg, null, 2));
  return file;
}

/** Sum over partitions of the group's committed offsets and of the topic's end offsets. */
export async function progress(group: string, topic: string): Promise<{ committed: number; end: number }> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const ends = await topicOffsets(admin, topic);
    const [c] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const committed = (c?.partitions ?? []).reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
    return { committed, end: ends.reduce((a, p) => a + Number(p.high), 0) };
  } finally {
    await admin.disconnect();
  }
}

/** Polls `cond` until true; fails after `timeoutMs` naming what it waited for and the last state seen. */
export async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      lastErr = undefined;
      if (ok(last)) return last;
    } catch (err) {
      // a probe of the broker can fail for a moment (metadata of busy brokers): the deadline bounds it
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${lastErr ? `error ${String(lastErr)}` : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
