import { checkKafkaAccess, collectorTopicSpecs, ensureTopics, topicSpecs } from '@sightline/bus';
import { AzureCursorSchema, azureBlobSource, gcsSource, s3Source, type AzureCursor, type ObjectReader, type ObjectRef, type TimeRange } from '@sightline/object-store';
import { createKafka, createProducer } from '@sightline/service-kit';
import type { Admin, Producer } from 'kafkajs';
import { CheckpointValue, readToEnd, type CheckpointStore } from './checkpoints.js';
import { loadConfig, sourceAccount, sourceId, type SourceConfig } from './config.js';
import { errField, type Logger } from './log.js';
import { CollectorMetrics } from './metrics.js';
import { Semaphore } from './ordered-commit.js';
import { SourceRunner } from './source-runner.js';
import type { Source } from './sources.js';
import { Startup, settlesWithin } from './startup.js';
import type { UnitResult } from './unit.js';

/**
 * Backfill: every object of a time range, however far back, published to the flows topic like
 * live collection publishes it.
 *
 * - Range: the day folders of the range are listed (S3, GCS) or its hour folders (Azure `y=/m=/d=/h=`),
 *   and an object is in when the time in its name falls in the range (listing-window.ts, listRange),
 *   not the look-back window of live collection.
 * - Same batch ids: the units are the refs polling makes (key, version, range) read by the same
 *   processUnit with the configuration's batchRows and keyGroups, so the store drops a backfilled
 *   batch that live collection, or an earlier backfill, already wrote.
 * - Live checkpoints untouched: the runners get a cursor store that keeps nothing and writes
 *   nothing. A backfill can run next to the live collectors.
 * - Azure blobs grow: live collection reads a blob in several block ranges, each its own batch
 *   ids, while a backfill without a cursor reads it as one range. So for an Azure source the live
 *   cursor is read (never written) and its blobs start where live collection stands: what it read
 *   is not read again, and what it reads next is the same range (same ids) as long as no block
 *   was added in between. A blob live collection read in parts and has since forgotten (its hour
 *   left the look-back window) is read as one range: those flows get other ids (see README).
 * - No consumer group: the process takes every selected source.
 */

const HOUR_MS = 3_600_000;

export interface BackfillOptions {
  configFile: string;
  range: TimeRange;
  /** a source id (`sightline backfill --source`), or every source of the configuration */
  source?: string;
  log: Logger;
  /** once every selected source was listed: what there is to do (for the ETA; bytes as listed: object sizes, or Azure ranges) */
  onTotals?: (t: { objects: number; bytes: number }) => void;
  onUnit?: (ref: ObjectRef, r: UnitResult) => void;
}

export interface BackfillSummary {
  sources: string[];
  objects: number;
  /** of the objects (or Azure ranges) done, as listed */
  bytes: number;
  flows: number;
  batches: number;
  /** units that could not be read (the run then exits non-zero) */
  failures: number;
  seconds: number;
}

/** A backfill that cannot start: a bad range or an unknown source (usage, exit status 2). */
export class BackfillUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackfillUsageError';
  }
}

/** The bytes a unit reads: its range, or the whole object. */
export const unitBytes = (ref: ObjectRef) => (ref.range !== undefined ? ref.range.end - ref.range.start : ref.size);

/** A source whose discovery lists the range once (no cursor: `poll` ignores it and yields none). */
export function rangeSource(c: SourceConfig, r: TimeRange, liveCursor?: AzureCursor): Source & { refs(signal?: AbortSignal): AsyncIterable<ObjectRef> } {
  const base = { id: sourceId(c), tenant: c.tenant, cloud: c.cloud, account: sourceAccount(c) };
  let reader: ObjectReader;
  let refs: (signal?: AbortSignal) => AsyncIterable<ObjectRef>;
  let close: (() => void) | undefined;
  switch (c.cloud) {
    case 'aws': {
      const s = s3Source(c);
      reader = s.reader;
      refs = (signal) => s.discovery.range(r, signal);
      let closed = false;
      close = () => { if (!closed) { closed = true; s.client.destroy(); } };
      break;
    }
    case 'gcp': {
      const s = gcsSource(c);
      reader = s.reader;
      refs = (signal) => s.discovery.range(r, signal);
      break;
    }
    case 'azure': {
      // The hours [hour of from, to): the Azure discovery lists the hour folders of its look-back
      // window up to `now`, so it is given the range as that window. Without a cursor every blob is
      // one unit, all its committed blocks: the unit live collection makes of a blob it first
      // sees complete, hence the same batch ids.
      const firstHour = Math.floor(r.fromMs / HOUR_MS) * HOUR_MS;
      const now = r.toMs - 1;
      const empty = now < firstHour;
      const s = azureBlobSource({ ...c, lookbackHours: Math.max(0, Math.floor((now - firstHour) / HOUR_MS)) }, { now: () => now });
      reader = s.reader;
      refs = (signal) => (async function* () {
        if (empty) return;
        for await (const u of s.discovery.poll(liveCursor, signal)) yield u.ref;
      })();
      break;
    }
  }
  return {
    ...base, reader, refs,
    discovery: { poll: (_cursor, signal) => (async function* () { for await (const ref of refs(signal)) yield { ref, cursor: null }; })() },
    ...(close !== undefined ? { close } : {}),
  };
}

const LIST_ATTEMPTS = 5;

/**
 * What a source's range holds. A listing error is retried (the cloud's throttling, a moment's
 * unavailability) from the start of the source's range, as the runner retries its own listing.
 */
async function listTotals(s: ReturnType<typeof rangeSource>, log: Logger): Promise<{ objects: number; bytes: number }> {
  for (let attempt = 1; ; attempt++) {
    let objects = 0;
    let bytes = 0;
    try {
      for await (const ref of s.refs()) { objects++; bytes += unitBytes(ref); }
      return { objects, bytes };
    } catch (err) {
      if (attempt >= LIST_ATTEMPTS) throw err;
      const wait = Math.min(1000 * 2 ** (attempt - 1), 10_000);
      log.warn({ source: s.id, attempt, retryInMs: wait, err: errField(err) }, `listing the range of ${s.id} failed; retrying`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Cursors that are neither read nor written: a backfill leaves the live checkpoints alone. */
const noCheckpoints: Pick<CheckpointStore, 'get' | 'commit' | 'adopt'> = {
  get: () => undefined,
  commit: () => Promise.resolve(),
  adopt: () => Promise.resolve(undefined),
};

export async function runBackfill(o: BackfillOptions): Promise<BackfillSummary> {
  const t0 = performance.now();
  const { log, range } = o;
  if (!(range.toMs > range.fromMs)) throw new BackfillUsageError(`--to (${new Date(range.toMs).toISOString()}) must be after --from (${new Date(range.fromMs).toISOString()})`);
  const config = await loadConfig(o.configFile);
  const selected = o.source === undefined ? config.sources : config.sources.filter((s) => sourceId(s) === o.source);
  if (selected.length === 0) {
    throw new BackfillUsageError(`no source ${o.source ?? ''} in ${o.configFile}; its sources are:\n${config.sources.map((s) => `  ${sourceId(s)}`).join('\n')}`);
  }
  const ids = selected.map((s) => sourceId(s));
  const summary: BackfillSummary = { sources: ids, objects: 0, bytes: 0, flows: 0, batches: 0, failures: 0, seconds: 0 };
  log.info({ from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString(), sources: ids }, 'backfill starting');

  // a broker refusing these credentials or certificates fails the backfill now, naming broker and cause
  await checkKafkaAccess(config.kafka, { log });
  const kafka = createKafka(config.kafka, undefined, log);
  const checkpointsTopic = collectorTopicSpecs({ prefix: config.kafka.topicPrefix, workPartitions: config.kafka.workPartitions }).checkpoints.name;
  const live = selected.some((c) => c.cloud === 'azure') ? await liveCursors(kafka, checkpointsTopic, config.startup.attemptMs, log) : new Map<string, unknown>();
  const sources = selected.map((c) => {
    const cur = c.cloud === 'azure' ? AzureCursorSchema.safeParse(live.get(sourceId(c))) : undefined;
    return rangeSource(c, range, cur?.success ? cur.data : undefined);
  });
  try {
    // What there is to do, listed first so progress can show an ETA (listing is cheap next to reading).
    let objects = 0;
    let bytes = 0;
    for (const s of sources) {
      const t = await listTotals(s, log);
      objects += t.objects;
      bytes += t.bytes;
    }
    log.info({ objects, bytes }, `backfill: ${objects} objects, ${bytes} bytes in the range`);
    o.onTotals?.({ objects, bytes });
    if (objects === 0) {
      summary.seconds = (performance.now() - t0) / 1000;
      return summary;
    }

    const startup = new Startup(log, config.startup.timeoutMs);
    const retry = { retry: true, attemptMs: config.startup.attemptMs };
    const data = topicSpecs({ prefix: config.kafka.topicPrefix, flows: { partitions: config.kafka.flowsPartitions } });
    await startup.step('ensure topics', async ({ signal }) => {
      const admin: Admin = kafka.admin();
      signal.addEventListener('abort', () => void admin.disconnect().catch(() => undefined), { once: true });
      await admin.connect();
      // The collector's own topics too, so a backfill on a fresh cluster leaves it as a collector would.
      const own = collectorTopicSpecs({ prefix: config.kafka.topicPrefix, workPartitions: config.kafka.workPartitions });
      await ensureTopics(admin, [data.flows, data.deadLetter, own.checkpoints, own.work], { onMismatch: 'report' });
      await settlesWithin(admin.disconnect(), 10_000);
    }, retry);
    const producer: Producer = await startup.step('connect producer', async ({ signal }) => {
      const p = createProducer(kafka);
      signal.addEventListener('abort', () => void p.disconnect().catch(() => undefined), { once: true });
      await p.connect();
      return p;
    }, retry);

    try {
      const metrics = new CollectorMetrics(false);
      const pool = new Semaphore(config.collector.workers);
      const runners = sources.map((s) => new SourceRunner(s, {
        log, metrics, checkpoints: noCheckpoints, pool,
        unit: {
          producer, flowsTopic: data.flows.name, deadLetterTopic: data.deadLetter.name,
          batchRows: config.collector.batchRows, inflightBatches: config.collector.inflightBatches, keyGroups: config.collector.keyGroups,
        },
        once: true,
        pollIntervalMs: config.collector.pollIntervalMs,
        visibilitySeconds: config.collector.visibilitySeconds,
        queueDepth: config.collector.queueDepth,
        onUnit: (ref, r) => {
          // Bytes as listed (the totals' measure): a Parquet object read by ranges counts whole.
          summary.objects++;
          summary.bytes += unitBytes(ref);
          summary.flows += r.records;
          summary.batches += r.batches;
          o.onUnit?.(ref, r);
        },
      }));
      // The runner retries what can be retried and counts the rest as failures; a source whose
      // runner throws is counted too, and the others go on.
      const results = await Promise.allSettled(runners.map((r) => r.start()));
      results.forEach((res, i) => {
        if (res.status === 'rejected') {
          summary.failures++;
          log.error({ source: ids[i], err: errField(res.reason) }, `backfill of ${ids[i]} stopped on an error`);
        }
      });
      for (const r of runners) summary.failures += r.failures;
      await Promise.all(runners.map((r) => r.stop()));
    } finally {
      if (!(await settlesWithin(producer.disconnect(), 15_000))) log.warn('the producer did not disconnect within 15000 ms; stopping anyway');
    }
  } finally {
    for (const s of sources) s.close?.();
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}

/** The live cursors by source id, read only (an absent topic: none). */
async function liveCursors(kafka: ReturnType<typeof createKafka>, topic: string, timeoutMs: number, log: Logger): Promise<Map<string, unknown>> {
  const admin = kafka.admin();
  await admin.connect();
  let exists: boolean;
  try {
    exists = (await admin.listTopics()).includes(topic);
  } finally {
    await settlesWithin(admin.disconnect(), 10_000);
  }
  const out = new Map<string, unknown>();
  if (!exists) return out;
  for (const [key, text] of await readToEnd(kafka, topic, { timeoutMs, log })) {
    if (text === null) continue;
    let json: unknown;
    try { json = JSON.parse(text); } catch { continue; }
    const v = CheckpointValue.safeParse(json);
    if (v.success) out.set(key, v.data.cursor);
  }
  return out;
}
