import { isUtf8 } from 'node:buffer';
import { MAX_JSON_DEPTH } from '../../core/json-depth.js';
import { MAX_RAW_KEPT, ParseError, type ByteSource, type ParseContext } from '../../types.js';

/**
 * Incremental scanner for Azure's `{"records":[ {...}, {...} ]}` blobs (NSG and VNet flow logs).
 *
 * PT1H.json grows by blocks: the 12-byte head `{"records":[`, record blocks (after the first
 * they start with `,`), and the 2-byte tail `]}` that stays last. A reader that fetches only
 * new byte ranges sees the head and records with no tail, so the scanner never needs the
 * whole document: it tracks string/escape state and bracket depth, hands each complete
 * element of the records array to the caller as bytes, and at the end reports an unfinished
 * tail as `incomplete` rather than as an error.
 *
 * Tolerated on purpose:
 * - leading, doubled or trailing commas and any whitespace between records;
 * - a UTF-8 byte order mark before the head;
 * - Microsoft's own v1 sample, which opens a second `"records": [` inside the first array:
 *   reported once as an error, and the records inside it are read like the others;
 * - garbage between records (e.g. the sample's `...`): reported once per run, then skipped
 *   to the next `{`.
 * Memory: one record at most `maxRecordBytes` (16 MiB by default) is buffered; a longer one is
 * scanned through without buffering and reported as an error.
 * Nesting: a record nested deeper than `maxDepth` (MAX_JSON_DEPTH) is reported as an error and
 * never handed over, so nothing that recurses on a parsed record can overflow the stack; the
 * depth is counted anyway, so the bound costs one comparison per bracket.
 * Empty records (`{}`) are errors counted in scanRecords without JSON.parse or any per-record
 * wording: a blob of a million of them reads at the speed of its bytes.
 */

export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

export interface RecordsScannerOptions {
  maxRecordBytes?: number;
  /** deepest nesting of a record (its own `{` is level 1); deeper records are errors */
  maxDepth?: number;
}

/** A complete element of the records array: `bytes` is valid only during the call. */
export type RecordHandler = (bytes: Uint8Array, offset: number) => void;
export type ScanIssueHandler = (kind: 'error' | 'incomplete', offset: number, message: string, raw: Uint8Array) => void;

const HEAD = [123, 34, 114, 101, 99, 111, 114, 100, 115, 34, 58, 91]; // {"records":[
/** head positions before which whitespace may appear: before `{`, `"`, `:` and `[` */
const HEAD_WS = new Set([0, 1, 10, 11]);

const enum S {
  Head,
  Between,
  Key,
  KeyColon,
  KeyBracket,
  Garbage,
  Record,
  After,
  Done,
}

const isWs = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

export class RecordsScanner {
  private readonly max: number;
  private readonly maxDepth: number;
  private state = S.Head;
  private headPos = 0;
  /** stream offset of the next chunk's first byte */
  private pos = 0;
  private nested = 0;
  // record scanning
  private depth = 0;
  /** the current record went deeper than maxDepth */
  private tooDeep = false;
  private inStr = false;
  private esc = false;
  private recStart = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private bufLen = 0;
  /** > 0 while skipping an over-long record: its length so far */
  private overLen = 0;
  private overHead: Uint8Array | null = null;
  // key / garbage
  private key = '';
  private keyStart = 0;
  private garbageStart = 0;
  private garbageHead: number[] = [];
  private trailingReported = false;

  constructor(
    private readonly source: string,
    private readonly onRecord: RecordHandler,
    private readonly onIssue: ScanIssueHandler,
    opts: RecordsScannerOptions = {},
  ) {
    this.max = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  }

  get bytes(): number {
    return this.pos;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.state === S.Record) {
        i = this.scanRecord(chunk, i);
        continue;
      }
      const c = chunk[i]!;
      const at = this.pos + i;
      switch (this.state) {
        case S.Head:
          if (this.headPos === 0 && at < 3 && (c === 0xef || c === 0xbb || c === 0xbf)) break;
          if (isWs(c) && HEAD_WS.has(this.headPos)) break;
          if (c !== HEAD[this.headPos]) {
            throw new ParseError(this.source, `not an Azure flow log: expected {"records":[ at the start, found byte 0x${c.toString(16).padStart(2, '0')}`, { offset: at });
          }
          if (++this.headPos === HEAD.length) this.state = S.Between;
          break;
        case S.Between:
          if (isWs(c) || c === 44) break;
          if (c === 123) {
            this.startRecord(at);
            continue;
          } else if (c === 93) {
            if (this.nested > 0) this.nested--;
            else this.state = S.After;
          } else if (c === 34) {
            this.state = S.Key;
            this.key = '';
            this.keyStart = at;
          } else this.startGarbage(at, c);
          break;
        case S.Key:
          if (c === 34) this.state = S.KeyColon;
          else if (this.key.length < 32) this.key += String.fromCharCode(c);
          else this.startGarbage(this.keyStart, c);
          break;
        case S.KeyColon:
          if (isWs(c)) break;
          if (c === 58) this.state = S.KeyBracket;
          else this.startGarbage(this.keyStart, c);
          break;
        case S.KeyBracket:
          if (isWs(c)) break;
          if (c === 91 && this.key === 'records') {
            this.nested++;
            this.onIssue('error', this.keyStart, 'malformed: a second "records" array opens inside the records array (as in Microsoft\'s v1 sample); its records are read', new Uint8Array(0));
            this.state = S.Between;
          } else this.startGarbage(this.keyStart, c);
          break;
        case S.Garbage:
          if (c === 123) {
            this.endGarbage();
            this.startRecord(at);
            continue;
          } else if (this.garbageHead.length < 256) this.garbageHead.push(c);
          break;
        case S.After:
          if (isWs(c)) break;
          if (c === 125) this.state = S.Done;
          else this.trailing(at);
          break;
        case S.Done:
          if (!isWs(c)) this.trailing(at);
          break;
      }
      i++;
    }
    this.pos += n;
  }

  /** End of input: an unfinished tail is reported as incomplete; an empty or headless input is a ParseError. */
  end(): void {
    const at = this.pos;
    switch (this.state) {
      case S.Head:
        if (this.headPos === 0) throw new ParseError(this.source, at === 0 ? 'empty input: an Azure flow log blob starts with {"records":[' : 'not an Azure flow log: no {"records":[ head', { offset: at });
        throw new ParseError(this.source, 'input ends inside the {"records":[ head', { offset: at });
      case S.Record: {
        const len = this.overLen > 0 ? this.overLen : this.bufLen;
        const raw = this.overLen > 0 ? (this.overHead ?? new Uint8Array(0)) : this.buf.slice(0, Math.min(this.bufLen, MAX_RAW_KEPT));
        this.onIssue('incomplete', this.recStart, `unfinished record of ${len} bytes at the end (blob still being written, or cut): skipped`, raw);
        break;
      }
      case S.Garbage:
        this.endGarbage();
        this.onIssue('incomplete', at, 'records array not closed with ]} (blob prefix still being written)', new Uint8Array(0));
        break;
      case S.Between:
      case S.Key:
      case S.KeyColon:
      case S.KeyBracket:
        this.onIssue('incomplete', at, 'records array not closed with ]} (blob prefix still being written)', new Uint8Array(0));
        break;
      case S.After:
        this.onIssue('incomplete', at, 'records array closed but the final } is missing', new Uint8Array(0));
        break;
      case S.Done:
        break;
    }
    this.state = S.Done;
  }

  /** The record's `{` is at stream offset `at`; scanning starts on it, so depth counts it. */
  private startRecord(at: number): void {
    this.state = S.Record;
    this.depth = 0;
    this.tooDeep = false;
    this.inStr = false;
    this.esc = false;
    this.recStart = at;
    this.bufLen = 0;
    this.overLen = 0;
    this.overHead = null;
  }

  /** Scans record bytes from `i`; returns where scanning stopped (end of chunk or just after the record). */
  private scanRecord(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    const from = i;
    let depth = this.depth;
    let inStr = this.inStr;
    let esc = this.esc;
    let endAt = -1;
    while (i < n) {
      if (inStr) {
        // strings are most of a flow log's bytes (tuples): jump to the next quote natively
        const q = chunk.indexOf(34, i);
        if (q === -1) {
          // an odd run of backslashes at the chunk's end escapes the next chunk's first byte
          const lo = esc ? i + 1 : i;
          let k = n - 1;
          while (k >= lo && chunk[k] === 92) k--;
          esc = ((n - 1 - k) & 1) === 1;
          i = n;
          break;
        }
        if (esc && q === i) {
          esc = false;
          i = q + 1;
          continue;
        }
        const lo = esc ? i + 1 : i;
        esc = false;
        let k = q - 1;
        while (k >= lo && chunk[k] === 92) k--;
        i = q + 1;
        if (((q - 1 - k) & 1) === 0) inStr = false;
        continue;
      }
      const c = chunk[i]!;
      if (c === 34) inStr = true;
      else if (c === 123 || c === 91) {
        if (++depth > this.maxDepth) this.tooDeep = true;
      } else if (c === 125 || c === 93) {
        if (--depth === 0) {
          endAt = i;
          i++;
          break;
        }
      }
      i++;
    }
    this.depth = depth;
    this.inStr = inStr;
    this.esc = esc;
    if (endAt >= 0) {
      if (this.tooDeep) {
        const raw = this.bufLen > 0 ? this.buf.slice(0, Math.min(this.bufLen, MAX_RAW_KEPT)) : (this.overHead ?? chunk.slice(from, Math.min(endAt + 1, from + MAX_RAW_KEPT)));
        this.onIssue('error', this.recStart, `record nesting deeper than ${this.maxDepth} levels: skipped`, raw);
      } else if (this.overLen > 0) {
        const len = this.overLen + (endAt + 1 - from);
        this.onIssue('error', this.recStart, `record of ${len} bytes exceeds the ${this.max}-byte limit: skipped`, this.overHead ?? new Uint8Array(0));
      } else if (this.bufLen === 0) {
        if (endAt + 1 - from > this.max) {
          this.onIssue('error', this.recStart, `record of ${endAt + 1 - from} bytes exceeds the ${this.max}-byte limit: skipped`, chunk.slice(from, from + MAX_RAW_KEPT));
        } else this.onRecord(chunk.subarray(from, endAt + 1), this.recStart);
      } else {
        this.append(chunk, from, endAt + 1);
        if (this.overLen > 0) {
          this.onIssue('error', this.recStart, `record of ${this.overLen} bytes exceeds the ${this.max}-byte limit: skipped`, this.overHead ?? new Uint8Array(0));
        } else this.onRecord(this.buf.subarray(0, this.bufLen), this.recStart);
      }
      this.bufLen = 0;
      this.overLen = 0;
      this.overHead = null;
      // a large buffer from one big record is not kept for the rest of the blob
      if (this.buf.length > 1024 * 1024) this.buf = new Uint8Array(0);
      this.state = S.Between;
    } else {
      this.append(chunk, from, n);
    }
    return i;
  }

  private append(chunk: Uint8Array, from: number, to: number): void {
    const add = to - from;
    if (this.overLen > 0) {
      this.overLen += add;
      return;
    }
    const need = this.bufLen + add;
    if (need > this.max) {
      const head = new Uint8Array(Math.min(MAX_RAW_KEPT, need));
      const fromBuf = Math.min(this.bufLen, head.length);
      head.set(this.buf.subarray(0, fromBuf));
      head.set(chunk.subarray(from, from + head.length - fromBuf), fromBuf);
      this.overHead = head;
      this.overLen = need;
      this.bufLen = 0;
      this.buf = new Uint8Array(0);
      return;
    }
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.min(this.max, Math.max(need, this.buf.length * 2, 64 * 1024)));
      next.set(this.buf.subarray(0, this.bufLen));
      this.buf = next;
    }
    this.buf.set(chunk.subarray(from, to), this.bufLen);
    this.bufLen = need;
  }

  private startGarbage(at: number, c: number): void {
    this.state = S.Garbage;
    this.garbageStart = at;
    this.garbageHead = [c];
  }

  private endGarbage(): void {
    this.onIssue('error', this.garbageStart, 'unexpected bytes between records: skipped to the next record', Uint8Array.from(this.garbageHead));
    this.garbageHead = [];
    this.state = S.Between;
  }

  private trailing(at: number): void {
    if (this.trailingReported) return;
    this.trailingReported = true;
    this.onIssue('error', at, 'unexpected bytes after the closing ]}: ignored', new Uint8Array(0));
  }
}

/** `{}`, with any whitespace inside: the scanner hands records over from `{` to the matching `}`. */
function isEmptyRecord(b: Uint8Array): boolean {
  const last = b.length - 1;
  for (let i = 1; i < last; i++) if (!isWs(b[i]!)) return false;
  return last >= 1 && b[0] === 123 && b[last] === 125;
}

/**
 * Runs the scanner over a byte stream and hands each record to `onRecord` as a parsed JSON
 * value. Records that are not valid UTF-8 or JSON are reported as errors with their byte
 * offset and raw bytes; `handle` owns everything after JSON.parse.
 */
export async function* scanRecords<T>(
  input: ByteSource,
  ctx: ParseContext,
  handle: (record: unknown, offset: number, raw: Uint8Array) => void,
  drain: () => T[],
  opts: RecordsScannerOptions = {},
  /** reads a record straight from its (valid UTF-8) bytes; false hands it to JSON.parse and `handle` */
  fast?: (bytes: Uint8Array, offset: number) => boolean,
): AsyncGenerator<T, void, undefined> {
  const issue: ScanIssueHandler = (kind, offset, message, raw) => {
    if (kind === 'error') ctx.stats.errors++;
    else ctx.stats.incomplete++;
    ctx.onIssue({ kind, source: ctx.source, offset, message, raw: raw.length > MAX_RAW_KEPT ? raw.slice(0, MAX_RAW_KEPT) : raw.slice() });
  };
  const scanner = new RecordsScanner(
    ctx.source,
    (bytes, offset) => {
      if (isEmptyRecord(bytes)) {
        issue('error', offset, 'empty record {}: skipped', bytes);
        return;
      }
      if (!isUtf8(bytes)) {
        issue('error', offset, 'record is not valid UTF-8: skipped', bytes);
        return;
      }
      if (fast !== undefined && fast(bytes, offset)) return;
      let value: unknown;
      try {
        value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
      } catch (err) {
        issue('error', offset, `record is not valid JSON (${(err as Error).message}): skipped`, bytes);
        return;
      }
      handle(value, offset, bytes);
    },
    issue,
    opts,
  );
  for await (const chunk of input) {
    scanner.push(chunk);
    for (const b of drain()) yield b;
  }
  scanner.end();
  for (const b of drain()) yield b;
}
