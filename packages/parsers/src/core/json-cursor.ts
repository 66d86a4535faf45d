import { Buffer } from 'node:buffer';
import { FNV_SEED, fnvStep, type Interner } from './intern.js';

/**
 * The byte-level JSON cursor of the fast readers (GCP LogEntry lines, Azure VNet records): a
 * position in a byte buffer and the JSON pieces read from it, without building a string or an
 * object for what the reader does not keep. A reader extends it with its format's shape and
 * writes its row as it goes.
 *
 * Each piece returns false (or FAIL, NaN, undefined) where the bytes are not that piece or not in
 * the shape the fast readers accept (strings with escapes, say); the reader then declines the
 * line or record and the caller hands it to JSON.parse and the general code, which own every
 * error message. So the cursor never needs to word an error.
 *
 * The pieces are methods on the reader itself (it extends the cursor) rather than free functions
 * taking a buffer and a position: the white-space loop runs between every two tokens, and calls
 * through core's free functions measured slower on the GCP reader (bench:json).
 */

/** ASCII text as bytes (keys, literals). */
export const asciiBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

const JSON_TRUE = asciiBytes('true');
const JSON_FALSE = asciiBytes('false');

/** The keys of one object level, for nextKey. */
export interface JsonKeys {
  bytes: Uint8Array[];
  /** each key's hash as nextKey computes it while scanning, so only one candidate is compared */
  hashes: Int32Array;
  /**
   * The key that followed each key last time (slot 0: the first key), learned as lines are read:
   * writers keep one key order, so the next key is nearly always the predicted one and is checked
   * in a single pass over its bytes.
   */
  after: Int32Array;
}

const keyHash = (b: Uint8Array): number => {
  let h = 0;
  for (let i = 0; i < b.length; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  return h;
};

/** The keys of one object level a reader knows, by index. */
export const jsonKeys = (...ks: string[]): JsonKeys => {
  const bytes = ks.map(asciiBytes);
  return { bytes, hashes: Int32Array.from(bytes, keyHash), after: new Int32Array(bytes.length + 1).fill(bytes.length > 0 ? 0 : -1) };
};
const NO_KEYS = jsonKeys();

/** nextKey results besides a key index */
export const UNKNOWN = -1;
export const END = -2;
export const FAIL = -3;

/**
 * Deepest value skipValue skips; deeper input is declined. Kept below MAX_JSON_DEPTH
 * (json-depth.ts) so input a fast reader accepts is never input the general path rejects as too deep.
 */
const MAX_SKIP_DEPTH = 32;

export class JsonCursor {
  /** the bytes being read; reading stops at `n` */
  protected b: Uint8Array = new Uint8Array(0);
  /** the position */
  protected p = 0;
  protected n = 0;
  /** bounds [s0, s1), FNV-1a hash and ASCII-ness of the last string str() read */
  protected s0 = 0;
  protected s1 = 0;
  protected sh = 0;
  protected sascii = true;
  /** the last integer int() read (NaN for null) */
  protected iv = NaN;
  /** index of the key nextKey matched last (-1 after an unknown key); nested objects overwrite it, see nextKey */
  private lastKey = -1;

  /** Reads bytes [start, end) of `b` from here on. */
  protected reset(b: Uint8Array, start: number, end: number): void {
    this.b = b;
    this.p = start;
    this.n = end;
  }

  /** Skips white space; false at the end of the input. */
  // the loop written here, not a call: it runs between every two tokens
  protected ws(): boolean {
    const b = this.b;
    let p = this.p;
    while (p < this.n && isJsonWs(b[p]!)) p++;
    this.p = p;
    return p < this.n;
  }

  /** True at the end of the input, white space aside. */
  protected atEnd(): boolean {
    return !this.ws();
  }

  /** Steps over `ch` (`{`, `[`, `:`...) when it is next. */
  protected eat(ch: number): boolean {
    if (this.b[this.p] !== ch) return false;
    this.p++;
    return true;
  }

  /** Steps over a `null` when it is next. */
  protected isNull(): boolean {
    const b = this.b;
    const p = this.p;
    if (b[p] === 110 && b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108 && p + 4 <= this.n) {
      this.p = p + 4;
      return true;
    }
    return false;
  }

  /** A string without escapes or control characters: its bounds in s0/s1, its hash in sh, its ASCII-ness in sascii. */
  protected str(): boolean {
    const b = this.b;
    if (b[this.p] !== 34) return false;
    const s = this.p + 1;
    const n = this.n;
    let i = s;
    let h = FNV_SEED;
    let hi = 0;
    for (;;) {
      if (i >= n) return false;
      const c = b[i]!;
      if (c === 34) break;
      if (c < 32 || c === 92) return false;
      hi |= c;
      h = fnvStep(h, c);
      i++;
    }
    this.s0 = s;
    this.s1 = i;
    this.sh = h;
    this.sascii = hi < 128;
    this.p = i + 1;
    return true;
  }

  /** The text of the last string str() read (not interned: for values seen once). */
  protected lastStr(): string {
    return decode(this.b, this.s0, this.s1, this.sascii);
  }

  /** Bytes [s, e) as text: latin1 when the caller knows them ASCII, else UTF-8. */
  protected text(s: number, e: number, ascii: boolean): string {
    return decode(this.b, s, e, ascii);
  }

  /** Whether the last string str() read is `key`. */
  protected strIs(key: Uint8Array): boolean {
    const len = this.s1 - this.s0;
    if (len !== key.length) return false;
    const b = this.b;
    const s = this.s0;
    for (let i = 0; i < len; i++) if (b[s + i] !== key[i]) return false;
    return true;
  }

  /** The index in `keys` of the last string str() read, or -1. */
  protected strIndex(keys: readonly Uint8Array[]): number {
    for (let k = 0; k < keys.length; k++) if (this.strIs(keys[k]!)) return k;
    return -1;
  }

  /** A string (interned in `it`) or null; undefined for any other value or an escape. */
  protected internedOrNull(it: Interner): string | null | undefined {
    if (this.b[this.p] !== 34) return this.isNull() ? null : undefined;
    if (!this.str()) return undefined;
    return it.intern(this.b, this.s0, this.s1, this.sh, this.sascii);
  }

  /**
   * After `{` (first) or a member: the next key's index in `ks`, UNKNOWN, END at `}`, or FAIL.
   * Leaves the position on the member's value.
   */
  protected nextKey(ks: JsonKeys, first: boolean): number {
    const b = this.b;
    if (!this.ws()) return FAIL;
    let ch = b[this.p];
    const prev = first ? 0 : this.lastKey + 1;
    if (first) {
      if (ch === 125) {
        this.p++;
        return END;
      }
    } else {
      this.p++;
      if (ch === 125) return END;
      if (ch !== 44 || !this.ws()) return FAIL;
      ch = b[this.p];
    }
    if (ch !== 34) return FAIL;
    const s = this.p + 1;
    const n = this.n;
    const guess = prev < ks.after.length ? ks.after[prev]! : -1;
    if (guess >= 0) {
      const key = ks.bytes[guess]!;
      const len = key.length;
      let j = 0;
      while (j < len && key[j] === b[s + j]) j++;
      if (j === len && s + len < n && b[s + len] === 34) {
        this.p = s + len + 1;
        if (!this.ws() || b[this.p] !== 58) return FAIL;
        this.p++;
        if (!this.ws()) return FAIL;
        this.lastKey = guess;
        return guess;
      }
    }
    let i = s;
    let h = 0;
    for (;;) {
      if (i >= n) return FAIL;
      const c = b[i]!;
      if (c === 34) break;
      if (c < 32 || c === 92) return FAIL;
      h = (Math.imul(h, 31) + c) | 0;
      i++;
    }
    this.p = i + 1;
    if (!this.ws() || b[this.p] !== 58) return FAIL;
    this.p++;
    if (!this.ws()) return FAIL;
    const len = i - s;
    const hashes = ks.hashes;
    for (let k = 0; k < hashes.length; k++) {
      if (hashes[k] !== h) continue;
      const key = ks.bytes[k]!;
      if (key.length !== len) continue;
      let j = 0;
      while (j < len && key[j] === b[s + j]) j++;
      if (j === len) {
        if (prev < ks.after.length) ks.after[prev] = k;
        this.lastKey = k;
        return k;
      }
    }
    // an unknown key: the next known one is predicted from the start again
    this.lastKey = -1;
    return UNKNOWN;
  }

  /**
   * An integer (a JSON integer, or a decimal string as proto3 JSON writes 64-bit integers; at most
   * 15 digits) or null (NaN) into `iv`. A fraction or exponent is declined (5.0 is the general code's).
   */
  protected int(): boolean {
    const b = this.b;
    let i = this.p;
    const quoted = b[i] === 34;
    if (quoted) i++;
    else if (this.isNull()) {
      this.iv = NaN;
      return true;
    }
    const neg = b[i] === 45;
    if (neg) i++;
    const d0 = i;
    let x = 0;
    while (i < this.n) {
      const c = b[i]! - 48;
      if (c < 0 || c > 9) break;
      x = x * 10 + c;
      i++;
    }
    const nd = i - d0;
    if (nd === 0 || nd > 15) return false;
    if (quoted) {
      if (b[i] !== 34) return false;
      i++;
    } else {
      // JSON: no leading zeros
      if (nd > 1 && b[d0] === 48) return false;
      const c = b[i];
      if (c === 46 || c === 101 || c === 69) return false;
    }
    if (i > this.n) return false;
    this.p = i;
    this.iv = neg ? -x : x;
    return true;
  }

  /** A JSON number, NaN when the text is not one. */
  protected num(): number {
    const s = this.p;
    const e = skipNumber(this.b, s, this.n);
    if (e < 0) return NaN;
    this.p = e;
    return Number(decode(this.b, s, e, true));
  }

  /** Skips any JSON value, checking its syntax as JSON.parse would (escapes are declined). */
  protected skipValue(depth: number): boolean {
    if (depth > MAX_SKIP_DEPTH) return false;
    const b = this.b;
    const ch = b[this.p];
    if (ch === 34) {
      let i = this.p + 1;
      for (;;) {
        if (i >= this.n) return false;
        const c = b[i]!;
        if (c === 34) break;
        if (c < 32 || c === 92) return false;
        i++;
      }
      this.p = i + 1;
      return true;
    }
    if (ch === 123) {
      this.p++;
      let first = true;
      for (;;) {
        const k = this.nextKey(NO_KEYS, first);
        first = false;
        if (k === END) return true;
        if (k === FAIL || !this.skipValue(depth + 1)) return false;
      }
    }
    if (ch === 91) {
      this.p++;
      if (!this.ws()) return false;
      if (b[this.p] === 93) {
        this.p++;
        return true;
      }
      for (;;) {
        if (!this.skipValue(depth + 1) || !this.ws()) return false;
        const c = b[this.p++];
        if (c === 93) return true;
        if (c !== 44 || !this.ws()) return false;
      }
    }
    if (ch === 116) return this.word(JSON_TRUE);
    if (ch === 102) return this.word(JSON_FALSE);
    if (ch === 110) return this.isNull();
    const e = skipNumber(b, this.p, this.n);
    if (e < 0) return false;
    this.p = e;
    return true;
  }

  private word(w: Uint8Array): boolean {
    const b = this.b;
    const p = this.p;
    if (p + w.length > this.n) return false;
    for (let j = 0; j < w.length; j++) if (b[p + j] !== w[j]) return false;
    this.p = p + w.length;
    return true;
  }
}

const isJsonWs = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/** Bytes [s, e) of `b` as text: latin1 when known to be ASCII, else UTF-8. */
function decode(b: Uint8Array, s: number, e: number, ascii: boolean): string {
  return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString(ascii ? 'latin1' : 'utf8');
}

/** After a JSON number at p (sign, digits without a leading zero, fraction, exponent), or -1. */
function skipNumber(b: Uint8Array, p: number, n: number): number {
  let i = p;
  if (b[i] === 45) i++;
  const d0 = i;
  while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
  if (i === d0 || (b[d0] === 48 && i - d0 > 1)) return -1;
  if (i < n && b[i] === 46) {
    const f = ++i;
    while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === f) return -1;
  }
  if (i < n && (b[i] === 101 || b[i] === 69)) {
    i++;
    if (i < n && (b[i] === 43 || b[i] === 45)) i++;
    const f = i;
    while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === f) return -1;
  }
  return i;
}
