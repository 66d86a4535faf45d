import { Buffer } from 'node:buffer';
import { normalizeIp } from '@sightline/flow';

/**
 * Interning for every parser, and the one FNV-1a it hashes with. Flow logs repeat the same few
 * account ids, interface ids, resource ids, VM and pod names and addresses millions of times;
 * a repeated value then costs a lookup instead of a new string per field, and a batch of rows
 * holds shared strings instead of copies for the garbage collector to move.
 */

/** FNV-1a's offset basis; a caller folds every byte of a key into it with fnvStep. */
export const FNV_SEED = 0x811c9dc5 | 0;

/**
 * One FNV-1a step (the FNV prime written here, once), for the byte scanners' hot loops: a small
 * function is inlined with its constant where an imported binding would be loaded from its
 * module cell on every byte.
 */
export const fnvStep = (h: number, c: number): number => Math.imul(h ^ c, 16777619);

/**
 * FNV-1a (32 bit) of a string's UTF-16 code units, unsigned. Stable across processes and
 * releases: the collector's interface groups are keyed by it, and a group must never move.
 */
export function fnv1a(key: string): number {
  let h = FNV_SEED;
  for (let i = 0; i < key.length; i++) h = fnvStep(h, key.charCodeAt(i));
  return h >>> 0;
}

/** Keys longer than this are not cached (ARNs and Azure resource ids are 100-200 bytes; longer is unusual). */
const MAX_KEY = 256;

/**
 * The one interning class: a bounded cache of strings, open addressing over a power-of-two
 * table with linear probing. When it holds half as many keys as slots it is cleared, not grown:
 * memory stays bounded on high-cardinality columns (task ARNs, unique ids), where the cache
 * simply stops paying off. A value may be a normalized form of its key (addresses).
 *
 * An instance takes one kind of key:
 * - bytes (get/set/intern; the FNV-1a hash given by the caller, which computes it while it
 *   scans for the field's end): the byte scanners. Keys live in one growing pool, so a hit
 *   allocates nothing and a miss copies the key's bytes once;
 * - an int32 (getInt/setInt): an IPv4 address the scanner parsed and validated as it read the
 *   dotted quad, so a hit costs one integer compare;
 * - a string (getString/setString/internString): the JSON.parse paths, whose strings exist
 *   already. These are kept in a Map: V8 hashes a string natively, where hashing its UTF-16
 *   units in JS made the general paths 3-5% slower (bench:json).
 */
export class Interner {
  private readonly slots: number;
  private readonly limit: number;
  /** int keys take the top bits of their multiplicative hash (the low bits of a product mix poorly) */
  private readonly shift: number;
  // the table is made on the first byte key (a string-keyed instance never needs it); until then
  // one empty slot, so a lookup misses without a test of its own
  private mask = 0;
  private hashes = new Int32Array(1);
  private starts = new Int32Array(1);
  /** key length in bytes; -1: empty slot */
  private lens = Int32Array.of(-1);
  private values: (string | null)[] = [null];
  /** string keys, made on first use */
  private byString: Map<string, string | null> | null = null;
  private pool: Uint8Array = new Uint8Array(0);
  private poolLen = 0;
  private count = 0;

  /** `slots`: the table size, a power of two; it holds at most slots / 2 keys before it is cleared. */
  constructor(slots = 4096) {
    if ((slots & (slots - 1)) !== 0 || slots < 16) throw new Error(`interner slots must be a power of two >= 16, got ${slots}`);
    this.slots = slots;
    this.limit = slots >>> 1;
    this.shift = Math.clz32(slots) + 1;
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
    if (this.mask === 0) this.makeTable();
    if (this.count >= this.limit) this.clear();
    if (this.poolLen + len > this.pool.length) {
      const bigger = new Uint8Array(Math.max(this.pool.length * 2, this.poolLen + len, 4096));
      bigger.set(this.pool.subarray(0, this.poolLen));
      this.pool = bigger;
    }
    const i = this.slot(h);
    this.pool.set(buf.subarray(start, end), this.poolLen);
    this.hashes[i] = h;
    this.starts[i] = this.poolLen;
    this.lens[i] = len;
    this.values[i] = value;
    this.poolLen += len;
    this.count++;
  }

  /**
   * The string of buf[start, end) (hash `h`), cached: decoded as latin1 when the caller saw only
   * ASCII bytes (`ascii`), else as UTF-8, on the first sight only.
   */
  intern(buf: Uint8Array, start: number, end: number, h: number, ascii: boolean): string {
    let s = this.get(buf, start, end, h);
    if (s === null) {
      s = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString(ascii ? 'latin1' : 'utf8');
      this.set(buf, start, end, h, s);
    }
    return s;
  }

  /** The cached string for the int32 key `k`, or null. */
  getInt(k: number): string | null {
    const lens = this.lens;
    let i = (Math.imul(k, 0x9e3779b1) >>> this.shift) & this.mask;
    for (;;) {
      if (lens[i]! < 0) return null;
      if (this.hashes[i] === k) return this.values[i]!;
      i = (i + 1) & this.mask;
    }
  }

  /** Remembers `value` for the int32 key `k`; the caller has checked it is not cached. */
  setInt(k: number, value: string): void {
    if (this.mask === 0) this.makeTable();
    if (this.count >= this.limit) this.clear();
    let i = (Math.imul(k, 0x9e3779b1) >>> this.shift) & this.mask;
    while (this.lens[i]! >= 0) i = (i + 1) & this.mask;
    this.hashes[i] = k;
    this.lens[i] = 0;
    this.values[i] = value;
    this.count++;
  }

  /** The cached value for the string `key` (null is a value), or undefined. */
  getString(key: string): string | null | undefined {
    return this.byString?.get(key);
  }

  /** Remembers `value` for the string `key`. */
  setString(key: string, value: string | null): void {
    const m = (this.byString ??= new Map());
    if (this.count >= this.limit) this.clear();
    m.set(key, value);
    this.count++;
  }

  /** `s`, or the equal string seen before: rows then share one string instead of each holding a copy. */
  internString(s: string): string {
    const v = this.getString(s);
    if (v !== undefined && v !== null) return v;
    this.setString(s, s);
    return s;
  }

  clear(): void {
    this.lens.fill(-1);
    this.values.fill(null);
    this.byString?.clear();
    this.poolLen = 0;
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }

  private makeTable(): void {
    const n = this.slots;
    this.hashes = new Int32Array(n);
    this.starts = new Int32Array(n);
    this.lens = new Int32Array(n).fill(-1);
    this.values = new Array<string | null>(n).fill(null);
    this.mask = n - 1;
  }

  /** The free slot for hash `h`. */
  private slot(h: number): number {
    let i = h & this.mask;
    while (this.lens[i]! >= 0) i = (i + 1) & this.mask;
    return i;
  }
}

/**
 * The normalized form (RFC 5952) of address text, or null when it is not an address; cached in
 * `it` by the text.
 */
export function normalizedAddr(it: Interner, s: string): string | null {
  let a = it.getString(s);
  if (a === undefined) {
    a = normalizeIp(s);
    it.setString(s, a);
  }
  return a;
}
