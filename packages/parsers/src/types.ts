import type { FlowBatch } from '@sightline/flow';


/** Counters every parser keeps; the CLI prints them with --stats, services export them as metrics. */
export interface ParseStats {
  /** flow records emitted */
  records: number;
  /** AWS NODATA lines (counted, never emitted) */
  nodata: number;
  /** AWS SKIPDATA lines (counted, never emitted) */
  skipdata: number;
  /** bad lines / records / tuples skipped */
  errors: number;
  /** unfinished tails (Azure blob prefix without `]}`, last line without newline cut mid-record) */
  incomplete: number;
}

export const newStats = (): ParseStats => ({ records: 0, nodata: 0, skipdata: 0, errors: 0, incomplete: 0 });

/** Something wrong with part of the input; parsing goes on. */
export interface ParseIssue {
  kind: 'error' | 'incomplete';
  /** object key or file path */
  source: string;
  /** 1-based line number, when the format is line-oriented */
  line?: number;
  /** byte offset (in the decompressed stream) where the bad part starts */
  offset?: number;
  message: string;
  /** the offending bytes (capped), kept so a dead-letter sink can replay them */
  raw?: Uint8Array;
}

export interface ParseContext {
  /** object key or file path, used in every message */
  source: string;
  stats: ParseStats;
  onIssue: (issue: ParseIssue) => void;
  /** rows per emitted batch; parsers emit a batch when it is full and at the end */
  batchCapacity?: number;
}

/** A decompressed byte stream. */
export type ByteSource = AsyncIterable<Uint8Array>;

/** A streaming parser: bounded memory whatever the input size. */
export type StreamParser = (input: ByteSource, ctx: ParseContext) => AsyncGenerator<FlowBatch, void, undefined>;

/** Random access to an object (Parquet needs its footer first). */
export interface RandomAccessSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** releases the handle; called by whoever opened the source */
  close?(): Promise<void>;
}

export type RandomAccessParser = (input: RandomAccessSource, ctx: ParseContext) => AsyncGenerator<FlowBatch, void, undefined>;

/**
 * The whole input cannot be read as this format (not a flow log, missing header, corrupt
 * compression). Carries where, so the message alone tells an operator what to look at.
 */
export class ParseError extends Error {
  readonly source: string;
  readonly offset: number | undefined;
  readonly line: number | undefined;
  /** the offending bytes (capped), when one part of the input tells why, for a dead letter to keep */
  readonly raw: Uint8Array | undefined;
  constructor(source: string, message: string, where: { offset?: number | undefined; line?: number | undefined; raw?: Uint8Array | undefined } = {}) {
    const at = where.line !== undefined ? ` line ${where.line}` : where.offset !== undefined ? ` byte ${where.offset}` : '';
    super(`${source}${at}: ${message}`);
    this.name = 'ParseError';
    this.source = source;
    this.offset = where.offset;
    this.line = where.line;
    this.raw = where.raw;
  }
}

/**
 * The input was read to its end, and every line or record in it was bad: no flow at all, only
 * errors. It is not a success with zero flows (an AWS file of NODATA lines is): the CLI exits
 * non-zero and the collector dead-letters the object. Where and raw are the first error's.
 */
export class NoRecordsError extends ParseError {
  constructor(
    source: string,
    readonly errors: number,
    first: ParseIssue | undefined,
  ) {
    const firstWhy = first === undefined ? '' : `; the first: ${first.message}`;
    super(source, `no flow record, ${errors} bad ${errors === 1 ? 'line or record' : 'lines or records'}${firstWhy}`, { line: first?.line, offset: first?.offset, raw: first?.raw });
    this.name = 'NoRecordsError';
  }
}

/**
 * Bad lines or records of one object whose message is worded from the zod schema (`path:
 * message`); later ones carry the hand check's own message. Building zod's error is most of
 * what a bad record costs, and a blob of a million bad records must read at the speed of its
 * bytes; consumers show the first issues in full and count the rest anyway.
 */
export const WORDED_ISSUES = 100;

/** Raw bytes kept with an issue are capped so a 10 MB bad line does not become a 10 MB log event. */
export const MAX_RAW_KEPT = 64 * 1024;
