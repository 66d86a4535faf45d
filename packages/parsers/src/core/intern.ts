import { Buffer } from 'node:buffer';
import { normalizeIp } from '@sightline/flow';

/**
 * The interning caches of every parser, and the one FNV-1a they hash with. Flow logs repeat
 * the same few values millions of times; each cache is tuned to the hot path that uses it:
 * - ByteInterner: open addressing keyed by bytes (AWS text scanner), cleared when half full;
 * - SlotInterner: direct-mapped by bytes, a collision replaces the slot (the JSON byte readers);
 * - StringInterner: a Map of strings already decoded (JSON.parse paths);
 * - AddrCache: address text to its normalized form (RFC 5952), or null when not an address;
 * - Ip4Cache: IPv4 addresses keyed by their 32-bit value.
 */

/**
 * A byte-keyed string cache. Flow logs repeat the same few account ids, interface ids and
 * addresses millions of times; looking them up by their bytes (hash computed by the caller
 * while it scans for the field's end) avoids allocating a string per field, and lets the
 * caller validate an address only the first time it is seen.
 *
 * Open addressing over a power-of-two table. When the table is half full it is cleared, not
 * grown: memory stays bounded on high-cardinality columns (task ARNs), where the cache simply
 * stops paying off.
 */

/** FNV-1a step; the caller folds every byte of the key with it, starting from FNV_SEED. */
export const FNV_SEED = 0x811c9dc5 | 0;
export const FNV_PRIME = 16777619;

/**
 * One FNV-1a step, for the byte scanners' hot loops: a small function is inlined with its
 * constant where an imported binding would be loaded from its module cell on every byte.
 */
export const fnvStep = (h: number, c: number): number => Math.imul(h ^ c, 16777619);

/**
 * FNV-1a (32 bit) of a string's UTF-16 code units, unsigned. Stable across processes and
 * releases: the collector's interface groups are keyed by it, and a group must never move.
 */
export function fnv1a(key: string): number {
  let h = FNV_SEED;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** Keys longer than this are not cached (ARNs are ~100 bytes; a longer value is unusual). */
const MAX_KEY = 256;

export class ByteInterner {
  private readonly mask: number;
  private readonly limit: number;
  private hashes: Int32Array;
  private starts: Int32Array;
  private lens: Int32Array;
  private values: (string | null)[];
  private pool: Uint8Array;
  private poolLen = 0;
  private count = 0;

  constructor(slots = 4096) {
    if ((slots & (slots - 1)) !== 0 || slots < 16) throw new Error(`interner slots must be a power of two >= 16, got ${slots}`);
    this.mask = slots - 1;
    this.limit = slots >>> 1;
    this.hashes = new Int32Array(slots);
    this.starts = new Int32Array(slots);
    this.lens = new Int32Array(slots).fill(-1);
    this.values = new Array<string | null>(slots).fill(null);
    this.pool = new Uint8Array(slots * 16);
  }

  /** The cached string for buf[start, end) whose FNV-1a hash is `h`, or null. */
  get(buf: Uint8Array, start: number, end: number, h: number): string | null {
    const len = end - start;
    const lens = this.lens;
    const pool = this.pool;
    let i = h & this.mask;
    for (;;) {
      const l = lens[i]!;
      if (l < 0) return null;
      if (l === len && this.hashes[i] === h) {
        let a = this.starts[i]!;
        let b = start;
        while (b < end && pool[a] === buf[b]) {
          a++;
          b++;
        }
        if (b === end) return this.values[i]!;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Remembers `value` for buf[start, end) (hash `h`); the caller has checked it is not cached. */
  set(buf: Uint8Array, start: number, end: number, h: number, value: string): void {
    const len = end - start;
    if (len > MAX_KEY) return;
    if (this.count >= this.limit) this.clear();
    if (this.poolLen + len > this.pool.length) {
      const bigger = new Uint8Array(Math.max(this.pool.length * 2, this.poolLen + len));
      bigger.set(this.pool.subarray(0, this.poolLen));
      this.pool = bigger;
    }
    let i = h & this.mask;
    while (this.lens[i]! >= 0) i = (i + 1) & this.mask;
    this.pool.set(buf.subarray(start, end), this.poolLen);
    this.hashes[i] = h;
    this.starts[i] = this.poolLen;
    this.lens[i] = len;
    this.values[i] = value;
    this.poolLen += len;
    this.count++;
  }

  clear(): void {
    this.lens.fill(-1);
    this.values.fill(null);
    this.poolLen = 0;
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }
}

/**
 * IPv4 addresses keyed by their 32-bit value: the scanner parses and validates the dotted quad
 * as it reads it, so a hit costs one integer compare instead of a byte comparison.
 */
export class Ip4Cache {
  private readonly mask: number;
  private readonly shift: number;
  private readonly limit: number;
  private readonly keys: Int32Array;
  private readonly values: (string | null)[];
  private count = 0;

  constructor(bits = 17) {
    const slots = 1 << bits;
    this.mask = slots - 1;
    this.shift = 32 - bits;
    this.limit = slots >>> 1;
    this.keys = new Int32Array(slots);
    this.values = new Array<string | null>(slots).fill(null);
  }

  get(ip: number): string | null {
    const keys = this.keys;
    let i = Math.imul(ip, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const v = this.values[i];
      if (v === null || v === undefined) return null;
      if (keys[i] === ip) return v;
      i = (i + 1) & this.mask;
    }
  }

  set(ip: number, value: string): void {
    if (this.count >= this.limit) {
      this.values.fill(null);
      this.count = 0;
    }
    let i = Math.imul(ip, 0x9e3779b1) >>> this.shift;
    while (this.values[i] !== null) i = (i + 1) & this.mask;
    this.keys[i] = ip;
    this.values[i] = value;
    this.count++;
  }
}

const SLOTS = 1 << 14;

/** Strings by their bytes (FNV-1a hash from the caller's scan): direct-mapped, a collision replaces the slot. */
export class SlotInterner {
  private readonly hashes = new Int32Array(SLOTS);
  private readonly bytes: (Uint8Array | null)[] = new Array<Uint8Array | null>(SLOTS).fill(null);
  private readonly strs: string[] = new Array<string>(SLOTS).fill('');
  get(buf: Uint8Array, s: number, e: number, h: number, ascii: boolean): string {
    const slot = h & (SLOTS - 1);
    const k = this.bytes[slot];
    const n = e - s;
    if (k !== null && k !== undefined && this.hashes[slot] === h && k.length === n) {
      let i = 0;
      while (i < n && k[i] === buf[s + i]) i++;
      if (i === n) return this.strs[slot]!;
    }
    const str = Buffer.from(buf.buffer, buf.byteOffset + s, n).toString(ascii ? 'latin1' : 'utf8');
    this.hashes[slot] = h;
    this.bytes[slot] = new Uint8Array(buf.subarray(s, e));
    this.strs[slot] = str;
    return str;
  }
}

/**
 * Interns strings that repeat from line to line (project, zone, VM, pod names): the row then
 * keeps one shared string instead of a fresh copy from JSON.parse, so the copies die young and
 * a batch of rows holds little for the garbage collector to move. Bounded: cleared when full.
 */
export class StringInterner {
  private map = new Map<string, string>();
  constructor(private readonly max = 65536) {}
  get(s: string): string {
    const v = this.map.get(s);
    if (v !== undefined) return v;
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(s, s);
    return s;
  }
}


/** Address normalization with a bounded cache: records repeat the same few addresses many times. */
export class AddrCache {
  private map = new Map<string, string | null>();
  constructor(private readonly max = 4096) {}
  get(s: string): string | null {
    let v = this.map.get(s);
    if (v === undefined) {
      v = normalizeIp(s);
      if (this.map.size >= this.max) this.map.clear();
      this.map.set(s, v);
    }
    return v;
  }
}
