import type { ByteSource } from '../types.js';

/**
 * Byte-level line splitting for line-oriented formats (GCP NDJSON, AWS text).
 *
 * Works on bytes rather than decoded text so that line numbers and byte offsets are exact
 * (an error can point at the byte where the bad line starts) and invalid UTF-8 stays the
 * caller's decision for that one line. A line is handed over as (buffer, start, end) so the
 * common case, a line wholly inside one chunk, costs no copy and no allocation; only a line
 * that straddles chunks is assembled in a carry buffer.
 *
 * A line longer than `maxLineBytes` is not buffered: its first bytes (up to `keepBytes`) are
 * kept for the report and the rest is skipped until the next newline, so memory stays bounded
 * whatever the input holds.
 */

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface LineSplitterOptions {
  /** longest line handed to onLine, newline excluded; longer lines go to onOverlong */
  maxLineBytes?: number;
  /** bytes of an over-long line kept for its report */
  keepBytes?: number;
}

/**
 * One line: bytes [start, end) of `buf`, without the newline (a trailing `\r` is removed too).
 * `line` is 1-based, `offset` is the byte offset of the line's first byte in the whole stream.
 * `terminated` is false only for a last line that the input ended without a newline.
 * `buf` is only valid during the call: copy what you keep.
 */
export type LineHandler = (buf: Uint8Array, start: number, end: number, line: number, offset: number, terminated: boolean) => void;

/** An over-long line: `length` bytes in total, of which `head` holds the first few. */
export type OverlongHandler = (line: number, offset: number, length: number, head: Uint8Array, terminated: boolean) => void;

const NL = 10;
const CR = 13;

export class LineSplitter {
  private readonly maxLine: number;
  private readonly keep: number;
  /** bytes of the current unfinished line (only when it straddles chunks) */
  private carry: Uint8Array;
  private carryLen = 0;
  /** skipping an over-long line: its total length so far, or -1 when not skipping */
  private skipLen = -1;
  private skipHead: Uint8Array | null = null;
  private lineNo = 1;
  /** stream offset of the first byte of the current line */
  private lineStart = 0;
  /** stream offset of the first byte of the next chunk */
  private pos = 0;

  constructor(
    private readonly onLine: LineHandler,
    private readonly onOverlong: OverlongHandler,
    opts: LineSplitterOptions = {},
  ) {
    this.maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.keep = Math.min(opts.keepBytes ?? 64 * 1024, this.maxLine);
    if (!(this.maxLine > 0)) throw new Error(`maxLineBytes must be positive, got ${this.maxLine}`);
    this.carry = new Uint8Array(Math.min(64 * 1024, this.maxLine + 1));
  }

  /** bytes consumed so far */
  get bytes(): number {
    return this.pos;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const nl = chunk.indexOf(NL, i);
      const stop = nl === -1 ? n : nl;
      if (this.skipLen >= 0) {
        this.skipLen += stop - i;
      } else if (this.carryLen === 0 && nl !== -1) {
        // fast path: the whole line is inside this chunk
        this.emit(chunk, i, stop, true);
      } else {
        this.append(chunk, i, stop);
      }
      if (nl === -1) break;
      // newline reached: finish a carried or skipped line
      if (this.skipLen >= 0) this.finishSkip(true);
      else if (this.carryLen > 0) {
        const len = this.carryLen;
        this.carryLen = 0;
        this.emit(this.carry, 0, len, true);
      }
      i = nl + 1;
      this.lineNo++;
      this.lineStart = this.pos + i;
    }
    this.pos += n;
  }

  /** End of input: a last line without newline is handed over with terminated = false. */
  end(): void {
    if (this.skipLen >= 0) this.finishSkip(false);
    else if (this.carryLen > 0) {
      const len = this.carryLen;
      this.carryLen = 0;
      this.emit(this.carry, 0, len, false);
    }
  }

  private emit(buf: Uint8Array, start: number, end: number, terminated: boolean): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end - start > this.maxLine) {
      this.onOverlong(this.lineNo, this.lineStart, end - start, buf.slice(start, start + this.keep), terminated);
      return;
    }
    this.onLine(buf, start, end, this.lineNo, this.lineStart, terminated);
  }

  private append(chunk: Uint8Array, from: number, to: number): void {
    const add = to - from;
    const need = this.carryLen + add;
    // one byte of slack for a `\r` before the newline
    if (need > this.maxLine + 1) {
      const head = new Uint8Array(this.keep);
      const fromCarry = Math.min(this.carryLen, this.keep);
      head.set(this.carry.subarray(0, fromCarry), 0);
      const fromChunk = Math.min(this.keep - fromCarry, add);
      head.set(chunk.subarray(from, from + fromChunk), fromCarry);
      this.skipHead = head;
      this.skipLen = need;
      this.carryLen = 0;
      // give back a large carry buffer: over-long lines must not pin memory
      if (this.carry.length > 64 * 1024) this.carry = new Uint8Array(64 * 1024);
      return;
    }
    if (need > this.carry.length) {
      let cap = this.carry.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(Math.min(cap, this.maxLine + 1));
      next.set(this.carry.subarray(0, this.carryLen));
      this.carry = next;
    }
    this.carry.set(chunk.subarray(from, to), this.carryLen);
    this.carryLen = need;
  }

  private finishSkip(terminated: boolean): void {
    const head = this.skipHead ?? new Uint8Array(0);
    const len = this.skipLen;
    this.skipLen = -1;
    this.skipHead = null;
    this.onOverlong(this.lineNo, this.lineStart, len, head, terminated);
  }
}

/** A line as an object, for callers that prefer iteration to callbacks (tests, small tools). */
export interface Line {
  bytes: Uint8Array;
  line: number;
  offset: number;
  terminated: boolean;
  /** set when the line exceeded maxLineBytes: `bytes` holds only its head */
  overlongLength?: number;
}

/** Lines of a byte stream, yielded per input chunk (copies each line: not for hot paths). */
export async function* readLines(input: ByteSource, opts: LineSplitterOptions = {}): AsyncGenerator<Line[], void, undefined> {
  let pending: Line[] = [];
  const splitter = new LineSplitter(
    (buf, start, end, line, offset, terminated) => pending.push({ bytes: buf.slice(start, end), line, offset, terminated }),
    (line, offset, length, head, terminated) => pending.push({ bytes: head, line, offset, terminated, overlongLength: length }),
    opts,
  );
  for await (const chunk of input) {
    splitter.push(chunk);
    if (pending.length > 0) {
      yield pending;
      pending = [];
    }
  }
  splitter.end();
  if (pending.length > 0) yield pending;
}
