import type { Readable } from 'node:stream';
import type { Cloud, RandomAccessSource } from '@sightline/parsers';

/**
 * The contract between object-store sources (S3, GCS, Azure Blob) and the collector.
 * A source discovers units of work (a whole object, or the new byte range of a growing
 * Azure blob), opens them as streams, and keeps a cursor the collector persists only after
 * the unit's flows were acknowledged by Kafka.
 */

/** The cloud of a source: the flow record's (`@sightline/flow`'s CLOUDS, which the parsers' format registry matches). */
export type CloudKind = Cloud;

/** One unit of work: an object, or a byte range of it (Azure blocks added since the checkpoint). */
export interface ObjectRef {
  cloud: CloudKind;
  /** tenant that owns the account */
  tenant: string;
  /** AWS account id, GCP project id, Azure subscription id */
  account: string;
  /** bucket (S3, GCS) or container (Azure) */
  bucket: string;
  key: string;
  /** S3 version id or ETag, GCS generation, Azure ETag: identifies the bytes read */
  version: string;
  /** size of the whole object in bytes at discovery time */
  size: number;
  /** bytes [start, end) to read; whole object when absent */
  range?: { start: number; end: number };
  /** Azure: the committed blocks this unit covers, [first, last) by index in the committed list */
  blocks?: { first: number; last: number };
  /**
   * true when the bytes of this unit are a continuation of a records array whose opening
   * `{"records":[` was in an earlier unit (Azure block ranges after the first): the parser
   * must read them as a fragment.
   */
  fragment?: boolean;
  lastModified?: string;
}

/** How a source reads what it discovered. */
export interface ObjectReader {
  /** streams the unit's bytes (its range when it has one) */
  open(ref: ObjectRef, signal?: AbortSignal): Promise<Readable>;
  /** random access to the whole object (Parquet) by ranged reads */
  randomAccess(ref: ObjectRef): Promise<RandomAccessSource>;
  /**
   * The bytes a parser needs around the unit's own for them to be one well-formed document, when
   * the unit is part of an object (Azure: a block range lacks the blob's `{"records":[` head or
   * its `]}` tail). The source knows its framing; the collector only puts these around what
   * `open` streams. Absent, or both undefined: the unit is a whole document already.
   */
  framing?(ref: ObjectRef): { head?: Uint8Array; tail?: Uint8Array };
}

/** A poll-based discovery with a cursor the caller persists (JSON-serialisable). */
export interface Discovery<Cursor> {
  /** units of work after `cursor`, in the order they should be processed, and the cursor after each */
  poll(cursor: Cursor | undefined, signal?: AbortSignal): AsyncIterable<{ ref: ObjectRef; cursor: Cursor }>;
}

/** A notification (SQS message) that names new objects; acked only after its objects are durable in Kafka. */
export interface Notification {
  refs: ObjectRef[];
  /** keeps the message invisible to other consumers while its objects are processed */
  extend(seconds: number): Promise<void>;
  /** deletes the message: call only after every ref's flows were acknowledged by Kafka */
  ack(): Promise<void>;
}

export interface NotificationSource {
  receive(maxMessages: number, waitSeconds: number, signal?: AbortSignal): Promise<Notification[]>;
}

/**
 * Cloud errors classified so the collector can back off, count and log them without
 * parsing SDK-specific shapes, and without ever carrying a credential.
 */
export type CloudErrorKind = 'forbidden' | 'not-found' | 'throttled' | 'unavailable' | 'invalid' | 'other';

export class CloudError extends Error {
  constructor(
    readonly kind: CloudErrorKind,
    readonly cloud: CloudKind,
    readonly where: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(`${cloud} ${where}: ${message}`);
    this.name = 'CloudError';
  }
}
