import type { Producer, Message } from 'kafkajs';
import { COL, encodeBatch, makeBatchMeta, type BatchMeta, type FlowBatch, type SourceRef } from '@sightline/flow';
import { newStats, parseObject, ParseError, type ByteSource, type ParseIssue, type ParseStats } from '@sightline/parsers';
import { CloudError, type ObjectReader, type ObjectRef } from '@sightline/object-store';
import { splitByInterface } from './interface-groups.js';
import { deadLetterMessage } from './dead-letter.js';

/**
 * One unit of work (an object, or the new byte range of a growing Azure blob) read, parsed,
 * encoded and published. Memory stays bounded whatever the object size: the object is streamed
 * through the parser, one parsed batch (batchRows rows) is split and encoded at a time, and at most
 * `inflightBatches` encoded batches wait for Kafka's acknowledgement before reading pauses.
 *
 * Resolves only when every message of the unit (flows and dead letters) was acknowledged by Kafka:
 * the caller may then advance the checkpoint past the unit.
 */

export interface UnitOptions {
  producer: Producer;
  flowsTopic: string;
  deadLetterTopic: string;
  batchRows: number;
  inflightBatches: number;
  keyGroups: number;
  signal?: AbortSignal;
  /** ParseIssues sent to the dead-letter topic per unit; the rest are only counted */
  maxIssueLetters?: number;
}

export interface UnitResult {
  records: number;
  batches: number;
  bytes: number;
  stats: ParseStats;
  /** newest flow end (ms) published, NaN when none */
  newestEnd: number;
  /** the unit was not a readable flow log: its reason went to the dead-letter topic */
  badObject?: string;
  issues: number;
}

const END = COL['end']!;

/** `cloud://bucket/key` plus the version and range: how every message names a unit. */
export function unitName(ref: ObjectRef): string {
  const range = ref.range ? ` bytes ${ref.range.start}-${ref.range.end}` : '';
  return `${ref.cloud}://${ref.bucket}/${ref.key}${ref.version ? ` (version ${ref.version})` : ''}${range}`;
}

function sourceRef(ref: ObjectRef): SourceRef {
  const range = ref.blocks
    ? { unit: 'blocks' as const, start: ref.blocks.first, end: ref.blocks.last }
    : ref.range ? { unit: 'bytes' as const, start: ref.range.start, end: ref.range.end } : null;
  return { container: ref.bucket, key: ref.key, version: ref.version === '' ? null : ref.version, range };
}

/** One message of the collect stage: a batch of one interface group, its header (the one batch-id rule) and its Kafka key. */
export interface CollectedMessage {
  meta: BatchMeta;
  batch: FlowBatch;
  /** `tenant/account/group`: one interface's flows always under one key (one partition, one enricher lane) */
  key: string;
}

export interface CollectOptions {
  batchRows: number;
  keyGroups: number;
  signal?: AbortSignal | undefined;
  /** a bad line or record of the unit; the unit goes on */
  onIssue(issue: ParseIssue): void;
  /** each parsed batch (its position in the unit from 0) before it is split into messages */
  onParsed?: ((batch: FlowBatch, index: number) => void) | undefined;
}

/** A fresh tally of one unit, filled by collectUnit as it goes. */
export function newUnitResult(): UnitResult {
  return { records: 0, batches: 0, bytes: 0, stats: newStats(), newestEnd: Number.NaN, issues: 0 };
}

/**
 * The collect stage, whatever joins it to the next: reads the unit through its source's reader
 * (framing included), parses it, and yields the messages of each parsed batch, split by interface
 * group, each with its header from `makeBatchMeta` (tenant, cloud, account, source object,
 * version, range and position: the same unit read again gives the same ids). It pulls: the next
 * batch is parsed only when the caller asks for it, so the caller's bound on what it has in
 * flight is the stage's back-pressure. A unit that is not a readable flow log throws its
 * ParseError (NoRecordsError at the end for one of errors and not one flow), one gone since it was
 * listed its CloudError `not-found`; `result` holds what was read until then.
 */
export async function* collectUnit(ref: ObjectRef, reader: ObjectReader, o: CollectOptions, result: UnitResult): AsyncGenerator<CollectedMessage[], void, undefined> {
  const name = unitName(ref);
  // the source frames its units (Azure block ranges become whole documents); only the unit's own bytes are counted as read
  const framing = reader.framing?.(ref) ?? {};
  const open = (): ByteSource => (async function* () {
    const stream = await reader.open(ref, o.signal);
    try {
      if (framing.head !== undefined) yield framing.head;
      for await (const chunk of stream as AsyncIterable<Uint8Array>) {
        result.bytes += chunk.length;
        yield chunk;
      }
      if (framing.tail !== undefined) yield framing.tail;
    } finally {
      stream.destroy();
    }
  })();

  let seq = 0;
  const src = sourceRef(ref);
  const batches = parseObject(
    { name: ref.key, open, randomAccess: () => reader.randomAccess(ref) },
    { source: name, stats: result.stats, onIssue: o.onIssue, batchCapacity: o.batchRows },
  );
  let parsed = 0;
  for await (const batch of batches) {
    if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
    o.onParsed?.(batch, parsed++);
    const ends = batch.columns[END];
    if (ends instanceof Float64Array) {
      for (let i = 0; i < batch.length; i++) {
        const e = ends[i]!;
        if (!(e <= result.newestEnd)) result.newestEnd = Number.isNaN(result.newestEnd) ? e : Math.max(result.newestEnd, e);
      }
    }
    const messages: CollectedMessage[] = [];
    for (const { group, batch: part } of splitByInterface(batch, o.keyGroups)) {
      const meta = makeBatchMeta({ tenant: ref.tenant, cloud: ref.cloud, account: ref.account, source: src, seq: seq++, records: part.length });
      messages.push({ meta, batch: part, key: `${ref.tenant}/${ref.account}/${group}` });
      result.records += part.length;
      result.batches++;
    }
    yield messages;
  }
}

/**
 * The collect stage joined to Kafka: each message encoded and published (acks from every
 * in-sync replica), at most `inflightBatches` sends unacknowledged before the next batch is read;
 * bad lines and bad or vanished objects go to the dead-letter topic.
 */
export async function processUnit(ref: ObjectRef, reader: ObjectReader, o: UnitOptions): Promise<UnitResult> {
  const result = newUnitResult();
  const inflight: Promise<unknown>[] = [];
  let failed: unknown;
  const track = (p: Promise<unknown>) => {
    const t = p.catch((err: unknown) => { failed ??= err; });
    inflight.push(t);
  };
  const drainTo = async (n: number) => {
    while (inflight.length > n) await inflight.shift();
    if (failed !== undefined) throw failed;
  };
  const maxLetters = o.maxIssueLetters ?? 1000;
  const letterKey = `${ref.tenant}/${ref.account}`;

  const onIssue = (issue: ParseIssue) => {
    result.issues++;
    if (result.issues > maxLetters) return;
    track(o.producer.send({
      topic: o.deadLetterTopic, acks: -1,
      messages: [{ key: letterKey, value: deadLetterMessage(ref, issue.kind === 'incomplete' ? 'incomplete-record' : 'bad-record', issue.message, { line: issue.line, offset: issue.offset, raw: issue.raw }) }],
    }));
  };

  try {
    for await (const parts of collectUnit(ref, reader, { batchRows: o.batchRows, keyGroups: o.keyGroups, signal: o.signal, onIssue }, result)) {
      const messages: Message[] = parts.map(({ meta, batch, key }) => ({
        key,
        value: encodeBatch(meta, batch),
        headers: { 'sightline-batch-id': meta.id, 'sightline-source': `${ref.cloud}://${ref.bucket}/${ref.key}` },
      }));
      if (messages.length > 0) track(o.producer.send({ topic: o.flowsTopic, acks: -1, messages }));
      await drainTo(o.inflightBatches - 1);
    }
  } catch (err) {
    // Whatever was sent before the failure is still waited for, so a retry's duplicates are all acknowledged ones.
    await drainTo(0).catch(() => undefined);
    if (err instanceof ParseError) {
      // Also a unit read to its end with errors and not one flow (NoRecordsError): a bad object,
      // not a success with zero flows. err.raw is then the first bad part, kept for replay.
      result.badObject = err.message;
      track(o.producer.send({ topic: o.deadLetterTopic, acks: -1, messages: [{ key: letterKey, value: deadLetterMessage(ref, 'bad-object', err.message, { offset: err.offset, line: err.line, raw: err.raw }) }] }));
      await drainTo(0);
      return result;
    }
    if (err instanceof CloudError && err.kind === 'not-found') {
      // Gone between listing and reading (lifecycle rule, manual delete): nothing to read, kept for the record.
      result.badObject = err.message;
      track(o.producer.send({ topic: o.deadLetterTopic, acks: -1, messages: [{ key: letterKey, value: deadLetterMessage(ref, 'unreadable-object', err.message, {}) }] }));
      await drainTo(0);
      return result;
    }
    throw err;
  }
  await drainTo(0);
  return result;
}
