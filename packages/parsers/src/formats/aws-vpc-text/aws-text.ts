import { Buffer } from 'node:buffer';
import { DEFAULT_BATCH_CAPACITY, FlowBatch, colIndex, normalizeIp, type StringColumn } from '@sightline/flow';
import { awsField, type AwsFieldSpec } from './aws-fields.js';
import { FNV_SEED, fnvStep, Interner } from '../../core/intern.js';
import { MAX_RAW_KEPT, ParseError, type ByteSource, type ParseContext, type StreamParser } from '../../types.js';

/**
 * AWS VPC flow logs as text (what S3 receives, after decompression): a header line naming the
 * fields, then one space-separated record per line.
 *
 * The hot loop is a byte scanner over the decompressed chunks: integers are parsed from bytes,
 * strings come from per-column interning caches keyed by their bytes, addresses are validated
 * once per distinct value. No line is turned into a string and no object is built per record;
 * rows go straight into the FlowBatch columns.
 */

/** Longest line accepted; a longer one is skipped (never buffered whole) and counted as one error. */
export const MAX_LINE_BYTES = 64 * 1024;

export const AWS_TEXT_FORMAT = 'aws-vpc-text';

/**
 * What makes one AWS text format differ from another: its field table and the `format` value its
 * rows carry. VPC and Transit Gateway flow logs share the file layout (header line, one
 * space-separated record per line, `-` for absent) and this scanner.
 */
export interface AwsTextDialect {
  /** the `format` column of every row */
  readonly format: string;
  /** the field a header name denotes, undefined when unknown (kept in extras) */
  readonly field: (name: string) => AwsFieldSpec | undefined;
}

export const AWS_VPC_TEXT: AwsTextDialect = { format: AWS_TEXT_FORMAT, field: awsField };

const SP = 32;
const NL = 10;
const CR = 13;
const DASH = 45;
const DOT = 46;

const OP_INT = 0;
const OP_TIME = 1;
const OP_STR = 2;
const OP_ADDR = 3;
const OP_ACTION = 4;
const OP_STATUS = 5;
const OP_DIR = 6;
const OP_EXTRA = 7;

const CLOUD_COL = colIndex('cloud');
const FORMAT_COL = colIndex('format');

const ACCEPT = bytes('ACCEPT');
const REJECT = bytes('REJECT');
const NODATA = bytes('NODATA');
const SKIPDATA = bytes('SKIPDATA');
const INGRESS = bytes('ingress');
const EGRESS = bytes('egress');

function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
}

const EMPTY_NUM = new Float64Array(0);
const EMPTY_STR: StringColumn = [];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Header names are lower-case words joined by `-` (the Parquet spelling with `_` is accepted too). */
const HEADER_NAME = /^[a-z][a-z0-9_-]*$/;

/** The compiled header: what to do with the n-th field of a line. */
export interface AwsTextLayout {
  readonly names: readonly string[];
  /** names that are not known AWS fields, kept in each row's extras */
  readonly unknown: readonly string[];
}

/**
 * Parses the header line. Throws ParseError when it does not name AWS fields: a file without
 * its header cannot be mapped to columns at all.
 */
export function parseAwsHeader(line: string, source: string, dialect: AwsTextDialect = AWS_VPC_TEXT): AwsTextLayout {
  const names = line.split(' ').filter((t) => t !== '');
  if (names.length === 0) throw new ParseError(source, 'empty first line, expected the flow-log header naming the fields', { line: 1 });
  const bad = names.find((n) => !HEADER_NAME.test(n));
  if (bad !== undefined) {
    throw new ParseError(
      source,
      `first line is not an AWS flow-log header (expected field names such as "version account-id interface-id ...", found ${JSON.stringify(clip(bad))})`,
      { line: 1 },
    );
  }
  const seen = new Set<string>();
  let known = 0;
  const unknown: string[] = [];
  for (const n of names) {
    const spec = dialect.field(n);
    const key = spec?.name ?? n;
    if (seen.has(key)) throw new ParseError(source, `header names field "${n}" twice`, { line: 1 });
    seen.add(key);
    if (spec) known++;
    else unknown.push(n);
  }
  if (known === 0) throw new ParseError(source, `first line names no known AWS flow-log field (${JSON.stringify(clip(line))})`, { line: 1 });
  return { names, unknown };
}

function clip(s: string): string {
  return s.length > 80 ? s.slice(0, 80) + '...' : s;
}

/** The row scanner for one header layout. Holds the batch being filled. */
class Scanner {
  readonly n: number;
  private readonly ops: Uint8Array;
  private readonly max: Float64Array;
  private readonly cols: Int32Array;
  private readonly cols2: Int32Array;
  private readonly names: readonly string[];
  private readonly interners: Interner[];
  private readonly ip4 = new Interner(1 << 17);
  private readonly hasExtras: boolean;
  private readonly cap: number;
  private num: Float64Array[] = [];
  private str: StringColumn[] = [];
  private str2: (StringColumn | null)[] = [];
  private extras: (Record<string, string> | null)[] | null = null;
  batch!: FlowBatch;
  row = 0;
  /** the message of the last line that failed */
  error = '';


  constructor(layout: AwsTextLayout, cap: number, private readonly dialect: AwsTextDialect) {
    const n = layout.names.length;
    this.n = n;
    this.cap = cap;
    this.names = layout.names;
    this.ops = new Uint8Array(n);
    this.max = new Float64Array(n).fill(Infinity);
    this.cols = new Int32Array(n).fill(-1);
    this.cols2 = new Int32Array(n).fill(-1);
    this.interners = [];
    // addresses share caches: srcaddr of one record is often dstaddr of another; IPv6 is rare
    const addrs = new Interner(1 << 12);
    for (let f = 0; f < n; f++) {
      const spec = dialect.field(layout.names[f]!);
      let op = OP_EXTRA;
      let it = new Interner(16);
      if (spec) {
        this.cols[f] = spec.column;
        this.cols2[f] = spec.column2;
        this.max[f] = spec.max;
        switch (spec.kind) {
          case 'int':
            op = OP_INT;
            break;
          case 'time':
            op = OP_TIME;
            break;
          case 'string':
          case 'account':
            op = OP_STR;
            it = new Interner(1 << 12);
            break;
          case 'addr':
          case 'srcaddr':
          case 'dstaddr':
            op = OP_ADDR;
            it = addrs;
            break;
          case 'action':
            op = OP_ACTION;
            break;
          case 'log_status':
            op = OP_STATUS;
            it = new Interner(16);
            break;
          case 'flow_direction':
            op = OP_DIR;
            break;
        }
      }
      this.ops[f] = op;
      this.interners.push(it);
    }
    this.hasExtras = layout.unknown.length > 0;
    this.newBatch();
  }

  private newBatch(): void {
    const b = new FlowBatch(this.cap);
    this.batch = b;
    this.row = 0;
    this.num = [];
    this.str = [];
    this.str2 = [];
    for (let f = 0; f < this.n; f++) {
      const op = this.ops[f]!;
      const c = this.cols[f]!;
      const c2 = this.cols2[f]!;
      const numeric = op === OP_INT || op === OP_TIME;
      this.num.push(numeric ? b.numbers(c) : EMPTY_NUM);
      this.str.push(!numeric && op !== OP_EXTRA ? b.strings(c) : EMPTY_STR);
      this.str2.push(c2 >= 0 ? b.strings(c2) : null);
    }
    this.extras = this.hasExtras ? b.extras() : null;
  }

  /** Hands out the filled batch (cloud and format set) and starts a new one. */
  take(): FlowBatch {
    const b = this.batch;
    b.length = this.row;
    b.strings(CLOUD_COL).fill('aws', 0, this.row);
    b.strings(FORMAT_COL).fill(this.dialect.format, 0, this.row);
    this.newBatch();
    return b;
  }

  get full(): boolean {
    return this.row >= this.cap;
  }

  /**
   * Parses the line starting at `p`; the buffer holds a `\n` somewhere after it, which bounds
   * every scan. Returns the position after that line's `\n`, or -1 with `error` set. On success
   * the row is kept (row advanced), or counted as NODATA/SKIPDATA (`skipped` set).
   */
  skipped = 0;
  parseLine(buf: Uint8Array, p: number): number {
    const n = this.n;
    const row = this.row;
    const ops = this.ops;
    let extra: Record<string, string> | null = null;
    let skip = 0;
    let c = buf[p]!;
    for (let f = 0; f < n; f++) {
      // runs of spaces are tolerated: the AWS documentation itself shows one
      while (c === SP) c = buf[++p]!;
      if (c <= SP) {
        if (f === 0 && (c === NL || (c === CR && buf[p + 1] === NL))) {
          this.skipped = 3;
          return c === NL ? p + 1 : p + 2;
        }
        if (c === NL || c === CR) return this.fail(`expected ${n} fields, found ${f}`);
        return this.fail(`unexpected control byte 0x${c.toString(16).padStart(2, '0')}`);
      }
      const start = p;
      if (ops[f] === OP_ADDR) {
        // dotted quad parsed and validated in one pass, cached by its 32-bit value
        let ip = 0;
        let oct = 0;
        let digits = 0;
        let dots = 0;
        let ok = true;
        while (c > SP) {
          if (c === DOT) {
            if (digits === 0) ok = false;
            ip = ((ip << 8) | oct) >>> 0;
            oct = 0;
            digits = 0;
            dots++;
          } else {
            const d = c - 48;
            if (d < 0 || d > 9) {
              ok = false;
              break;
            }
            if (digits === 1 && oct === 0) ok = false;
            oct = oct * 10 + d;
            digits++;
            if (oct > 255) ok = false;
          }
          c = buf[++p]!;
        }
        if (ok && dots === 3 && digits > 0) {
          const key = (ip << 8) | oct;
          let s = this.ip4.getInt(key);
          if (s === null) {
            s = latin1(buf, start, p);
            this.ip4.setInt(key, s);
          }
          this.str[f]![row] = s;
          const s2 = this.str2[f];
          if (s2 !== null && s2 !== undefined) s2[row] = s;
          continue;
        }
        // IPv6, `-` or invalid: the general path below
        p = start;
        c = buf[p]!;
    }
      switch (ops[f]) {
        case OP_INT:
        case OP_TIME: {
          let v = 0;
          if (c === DASH && buf[p + 1]! <= SP) {
            v = NaN;
            c = buf[++p]!;
          } else {
            for (;;) {
              const d = c - 48;
              if (d < 0 || d > 9) break;
              v = v * 10 + d;
              c = buf[++p]!;
            }
            if (c > SP || p - start > 15 || v > this.max[f]!) return this.badField(buf, f, start, 'a non-negative integer' + (this.max[f]! < Infinity ? ` <= ${this.max[f]}` : ''));
            if (ops[f] === OP_TIME) v *= 1000;
          }
          this.num[f]![row] = v;
          break;
        }
        case OP_STR:
        case OP_ADDR:
        case OP_EXTRA: {
          let h = FNV_SEED;
          let hi = 0;
          while (c > SP) {
            h = fnvStep(h, c);
            hi |= c;
            c = buf[++p]!;
          }
          let s: string | null = null;
          if (p - start === 1 && buf[start] === DASH) s = null;
          else if (ops[f] === OP_EXTRA) {
            const v = hi >= 128 ? decodeUtf8(buf, start, p) : latin1(buf, start, p);
            if (v === null) return this.badField(buf, f, start, 'valid UTF-8');
            (extra ??= {})[this.names[f]!] = v;
            break;
          } else {
            const it = this.interners[f]!;
            s = it.get(buf, start, p, h);
            if (s === null) {
              if (ops[f] === OP_ADDR) {
                s = hi >= 128 ? null : normalizeIp(latin1(buf, start, p));
                if (s === null) return this.badField(buf, f, start, 'an IP address');
              } else {
                s = hi >= 128 ? decodeUtf8(buf, start, p) : latin1(buf, start, p);
                if (s === null) return this.badField(buf, f, start, 'valid UTF-8');
              }
              it.set(buf, start, p, h, s);
            }
          }
          this.str[f]![row] = s;
          const s2 = this.str2[f];
          if (s2 !== null && s2 !== undefined) s2[row] = s;
          break;
        }
        case OP_ACTION: {
          while (c > SP) c = buf[++p]!;
          let s: string | null;
          if (p - start === 1 && buf[start] === DASH) s = null;
          else if (same(buf, start, p, ACCEPT)) s = 'accept';
          else if (same(buf, start, p, REJECT)) s = 'reject';
          else return this.badField(buf, f, start, 'ACCEPT, REJECT or -');
          this.str[f]![row] = s;
          break;
        }
        case OP_STATUS: {
          let h = FNV_SEED;
          let hi = 0;
          while (c > SP) {
            h = fnvStep(h, c);
            hi |= c;
            c = buf[++p]!;
          }
          let s: string | null = null;
          if (p - start === 1 && buf[start] === DASH) s = null;
          else {
            if (same(buf, start, p, NODATA)) skip = 1;
            else if (same(buf, start, p, SKIPDATA)) skip = 2;
            const it = this.interners[f]!;
            s = it.get(buf, start, p, h);
            if (s === null) {
              // values other than OK/NODATA/SKIPDATA are kept as logged: a new status must not drop records
              s = hi >= 128 ? decodeUtf8(buf, start, p) : latin1(buf, start, p);
              if (s === null) return this.badField(buf, f, start, 'valid UTF-8');
              it.set(buf, start, p, h, s);
            }
          }
          this.str[f]![row] = s;
          break;
        }
        case OP_DIR: {
          while (c > SP) c = buf[++p]!;
          let s: string | null;
          if (p - start === 1 && buf[start] === DASH) s = null;
          else if (same(buf, start, p, INGRESS)) s = 'ingress';
          else if (same(buf, start, p, EGRESS)) s = 'egress';
          else return this.badField(buf, f, start, 'ingress, egress or -');
          this.str[f]![row] = s;
          this.str2[f]![row] = s;
          break;
        }
      }
    }
    while (c === SP) c = buf[++p]!;
    if (c === CR && buf[p + 1] === NL) c = buf[++p]!;
    if (c !== NL) {
      return this.fail(c > SP ? `expected ${n} fields, found more` : `unexpected control byte 0x${c.toString(16).padStart(2, '0')}`);
    }
    if (this.extras !== null) this.extras[row] = extra;
    this.skipped = skip;
    if (skip === 0) this.row = row + 1;
    return p + 1;
  }

  private fail(message: string): number {
    this.error = message;
    return -1;
  }

  private badField(buf: Uint8Array, f: number, start: number, what: string): number {
    let e = start;
    while (buf[e]! > SP && e - start < 64) e++;
    const shown = buf[e]! > SP ? latin1(buf, start, e) + '...' : latin1(buf, start, e);
    return this.fail(`field ${f + 1} (${this.names[f]}) is not ${what}: ${JSON.stringify(shown)}`);
  }
}

function same(buf: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[start + i] !== word[i]) return false;
  return true;
}

/** Buffer's native latin1 slicer works on any Uint8Array; calling it directly avoids a Buffer view per string. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

function latin1(buf: Uint8Array, start: number, end: number): string {
  return latin1Slice.call(buf, start, end);
}

function decodeUtf8(buf: Uint8Array, start: number, end: number): string | null {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return null;
  }
}

/** Byte offset of the first invalid UTF-8 sequence in buf[start, end), or -1. Error path only. */
function invalidUtf8At(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = buf[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (len === 0 || i + len > end || decodeUtf8(buf, i, i + len) === null) return i;
    i += len;
  }
  return -1;
}

/**
 * Streams AWS VPC flow-log text (already decompressed: see `decompress`) into FlowBatches.
 * Bad lines are counted and reported through `ctx.onIssue`; a missing or wrong header is a
 * ParseError. Memory is bounded by the chunk size plus one line (at most MAX_LINE_BYTES).
 */
export function createAwsTextParser(dialect: AwsTextDialect): StreamParser {
  return (input, ctx) => parseAwsTextAs(dialect, input, ctx);
}

export const parseAwsText: StreamParser = createAwsTextParser(AWS_VPC_TEXT);

async function* parseAwsTextAs(dialect: AwsTextDialect, input: ByteSource, ctx: ParseContext): AsyncGenerator<FlowBatch, void, undefined> {
  const cap = ctx.batchCapacity ?? DEFAULT_BATCH_CAPACITY;
  let sc: Scanner | null = null;
  /** the start of a line that continues in the next chunk */
  let carry: Uint8Array = Buffer.allocUnsafe(4096);
  let carryLen = 0;
  let carryOffset = 0;
  /** inside an over-long line: drop bytes up to the next newline */
  let skipping = false;
  /** decompressed offset of the current chunk's first byte */
  let offset = 0;
  /** lines finished so far (the header is line 1) */
  let line = 0;
  let sawBytes = false;

  const report = (kind: 'error' | 'incomplete', lineNo: number, at: number, message: string, raw: Uint8Array): void => {
    if (kind === 'error') ctx.stats.errors++;
    else ctx.stats.incomplete++;
    const bad = invalidUtf8At(raw, 0, raw.length);
    const msg = bad >= 0 ? `invalid UTF-8 at byte ${at + bad}` : message;
    ctx.onIssue({ kind, source: ctx.source, line: lineNo, offset: at, message: msg, raw: raw.slice(0, MAX_RAW_KEPT) });
  };

  const header = (buf: Uint8Array, start: number, nl: number): Scanner => {
    let end = nl;
    if (end > start && buf[end - 1] === CR) end--;
    const bad = invalidUtf8At(buf, start, end);
    if (bad >= 0) throw new ParseError(ctx.source, 'first line is not an AWS flow-log header (binary data; is the file still compressed?)', { line: 1 });
    return new Scanner(parseAwsHeader(latin1(buf, start, end), ctx.source, dialect), cap, dialect);
  };

  /** Parses complete lines in buf[pos, end), buf[end - 1] being `\n`; yields full batches. */
  async function* lines(buf: Uint8Array, pos: number, end: number, base: number, lastLine: boolean): AsyncGenerator<FlowBatch> {
    if (sc === null) {
      const nl = buf.indexOf(NL, pos);
      sc = header(buf, pos, nl);
      line = 1;
      pos = nl + 1;
    }
    const s: Scanner = sc;
    while (pos < end) {
      line++;
      const r = s.parseLine(buf, pos);
      if (r >= 0 && r - pos <= MAX_LINE_BYTES + 1) {
        if (s.skipped === 1) ctx.stats.nodata++;
        else if (s.skipped === 2) ctx.stats.skipdata++;
        pos = r;
      } else {
        const nl = buf.indexOf(NL, pos);
        // a wrong field count explains a misplaced value better than the value does
        const found = r >= 0 ? s.n : countFields(buf, pos, nl);
        const msg = r >= 0 ? `line longer than ${MAX_LINE_BYTES} bytes` : found !== s.n ? `expected ${s.n} fields, found ${found}` : s.error;
        // a last line without newline that stops short was most likely cut in transfer
        const cut = lastLine && found < s.n;
        report(cut ? 'incomplete' : 'error', line, base + pos, cut ? `last line has no newline and is cut short: ${msg}` : msg, buf.subarray(pos, nl));
        pos = nl + 1;
      }
      if (s.full) {
        ctx.stats.records += s.row;
        yield s.take();
      }
    }
  }

  const appendCarry = (buf: Uint8Array, start: number, end: number): void => {
    const need = carryLen + (end - start);
    if (need > carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, carry.length * 2));
      bigger.set(carry.subarray(0, carryLen));
      carry = bigger;
    }
    carry.set(buf.subarray(start, end), carryLen);
    carryLen = need;
  };

  /** An over-long line: reported once with its first bytes, never buffered whole. */
  const tooLong = (buf: Uint8Array, start: number, end: number): void => {
    const room = Math.max(0, MAX_RAW_KEPT - carryLen);
    appendCarry(buf, start, start + Math.min(room, end - start));
    if (sc === null) throw new ParseError(ctx.source, `first line is longer than ${MAX_LINE_BYTES} bytes: not an AWS flow-log header`, { line: 1 });
    report('error', line + 1, carryOffset, `line longer than ${MAX_LINE_BYTES} bytes, skipped`, carry.subarray(0, carryLen));
    carryLen = 0;
  };

  /** The tail of a chunk without newline: kept for the next chunk, unless the line is already too long. */
  const keepTail = (buf: Uint8Array, start: number, end: number, at: number): void => {
    if (start >= end) return;
    if (carryLen === 0) carryOffset = at;
    if (carryLen + (end - start) <= MAX_LINE_BYTES + 2) appendCarry(buf, start, end);
    else {
      tooLong(buf, start, end);
      skipping = true;
    }
  };

  for await (const buf of input) {
    const len = buf.length;
    if (len === 0) continue;
    sawBytes = true;
    let pos = 0;
    if (carryLen > 0 || skipping) {
      const nl = buf.indexOf(NL);
      if (nl < 0) {
        if (!skipping) keepTail(buf, 0, len, offset);
        offset += len;
        continue;
      }
      if (skipping) {
        skipping = false;
        line++;
      } else if (carryLen + nl + 1 > MAX_LINE_BYTES + 2) {
        tooLong(buf, 0, nl);
        line++;
      } else {
        appendCarry(buf, 0, nl + 1);
        yield* lines(carry, 0, carryLen, carryOffset, false);
      }
      carryLen = 0;
      pos = nl + 1;
    }
    const last = buf.lastIndexOf(NL);
    if (last >= pos) {
      yield* lines(buf, pos, last + 1, offset, false);
      pos = last + 1;
    }
    keepTail(buf, pos, len, offset + pos);
    offset += len;
  }

  if (!sawBytes) throw new ParseError(ctx.source, 'empty file, no header');
  if (carryLen > 0 && !skipping) {
    // the last line has no newline: parse it as if it had one
    appendCarry(Buffer.of(NL), 0, 1);
    yield* lines(carry, 0, carryLen, carryOffset, true);
  }
  if (sc === null) throw new ParseError(ctx.source, 'no header line (file holds only blank data)');
  const s: Scanner = sc;
  if (s.row > 0) {
    ctx.stats.records += s.row;
    yield s.take();
  }
}

/** Fields in buf[start, nl) (error path only). */
function countFields(buf: Uint8Array, start: number, nl: number): number {
  let n = 0;
  let inField = false;
  for (let i = start; i < nl; i++) {
    const c = buf[i]!;
    const sep = c === SP || (c === CR && i === nl - 1);
    if (!sep && !inField) n++;
    inField = !sep;
  }
  return n;
}
