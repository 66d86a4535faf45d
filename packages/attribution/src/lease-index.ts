/**
 * The time-indexed IP index of one cluster: which endpoint held an address at a given time.
 *
 * Hot path layout (a lookup allocates nothing and touches two cache lines in the usual case):
 * - IPv4 addresses are uint32 keys in an open-addressing table of (key, head) int32 pairs,
 *   interleaved so the probe that finds the key also finds the list head;
 * - leases are records of four int32s (start, end, endpoint id, next) in one typed array:
 *   16 bytes per lease, no object per lease. Times are seconds since 2000-01-01 (Kubernetes
 *   times have second precision, so nothing is lost; int32 lasts until 2068);
 * - the leases of one address form a list sorted by start, newest first, because flows are
 *   looked up at recent times far more often than at old ones. `compact` rebuilds the lists
 *   contiguously, dropping leases that ended before the retention cutoff.
 * IPv6 addresses (rare in flow logs of today's clusters) key a Map by their canonical string.
 */

/** No endpoint: the address was not held by anything known at that time. */
export const NONE = -1;

/** Lease end of a lease still held. */
const OPEN = 0x7fffffff;
const NIL = -1;
/** 2000-01-01T00:00:00Z in seconds: the zero of lease times */
const EPOCH_S = 946684800;
const STRIDE = 4;
const EMPTY_KEY_HEAD = -1;

/** Parses a dotted quad into its uint32 value, or -1 when `s` is not strictly one. */
export function ipv4ToUint(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let acc = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      acc = acc * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return acc * 256 + octet;
}

export function uintToIpv4(u: number): string {
  return `${u >>> 24}.${(u >>> 16) & 255}.${(u >>> 8) & 255}.${u & 255}`;
}

/** Lease start in seconds: floor, so a lease starting mid-second covers the whole second. */
const toStartSec = (ms: number): number => Math.min(OPEN - 1, Math.max(0, Math.floor(ms / 1000) - EPOCH_S));
/** Lease end in seconds: ceil; Infinity (still held) becomes OPEN. */
const toEndSec = (ms: number): number => (ms === Infinity ? OPEN : Math.min(OPEN - 1, Math.max(0, Math.ceil(ms / 1000) - EPOCH_S)));

export class LeaseIndex {
  /** (key, head) pairs; head -1 marks an empty slot */
  private table: Int32Array;
  private shift: number;
  private mask: number;
  private v4Count = 0;
  private leases: Int32Array;
  private leaseCount = 0;
  private readonly v6 = new Map<string, number>();

  constructor(expectedAddresses = 1024, expectedLeases = 4096) {
    const cap = tableCapacity(expectedAddresses);
    this.table = new Int32Array(cap * 2).fill(EMPTY_KEY_HEAD);
    this.shift = 32 - Math.log2(cap);
    this.mask = cap - 1;
    this.leases = new Int32Array(Math.max(16, expectedLeases) * STRIDE);
  }

  /** Leases held (open or closed, not yet compacted away). */
  get size(): number {
    return this.leaseCount;
  }

  /** Addresses with at least one lease. */
  get addresses(): number {
    return this.v4Count + this.v6.size;
  }

  /** Bytes of the typed arrays behind the IPv4 index (IPv6 map entries excluded). */
  get bytes(): number {
    return this.table.byteLength + this.leases.byteLength;
  }

  /**
   * Adds a lease of `endpoint` on address `ip` for [startMs, endMs). Returns the lease id (for
   * `setEnd`), or NONE when `ip` is not an address.
   */
  add(ip: string, startMs: number, endMs: number, endpoint: number): number {
    const u = ipv4ToUint(ip);
    if (u >= 0) return this.addV4(u, startMs, endMs, endpoint);
    if (ip.indexOf(':') === -1) return NONE;
    const id = this.newLease(startMs, endMs, endpoint);
    this.v6.set(ip, this.link(this.v6.get(ip) ?? NIL, id));
    return id;
  }

  addV4(ip: number, startMs: number, endMs: number, endpoint: number): number {
    const id = this.newLease(startMs, endMs, endpoint);
    const slot = this.findSlot(ip);
    const t = this.table;
    if (t[slot * 2 + 1] === EMPTY_KEY_HEAD) {
      t[slot * 2] = ip | 0;
      t[slot * 2 + 1] = id;
      this.leases[id * STRIDE + 3] = NIL;
      if (++this.v4Count * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    } else {
      t[slot * 2 + 1] = this.link(t[slot * 2 + 1]!, id);
    }
    return id;
  }

  /** Ends a lease (pod deleted, finished, IP changed) at `endMs`. */
  setEnd(lease: number, endMs: number): void {
    if (lease < 0 || lease >= this.leaseCount) throw new RangeError(`no lease ${lease}`);
    const o = lease * STRIDE;
    this.leases[o + 1] = Math.max(this.leases[o]!, toEndSec(endMs));
  }

  /** True while the lease has no end. */
  isOpen(lease: number): boolean {
    return this.leases[lease * STRIDE + 1] === OPEN;
  }

  /** Endpoint of `ip` over a flow's [startMs, endMs]: see `pick`. */
  lookup(ip: string, startMs: number, endMs: number): number {
    const u = ipv4ToUint(ip);
    if (u >= 0) return this.lookupV4(u, startMs, endMs);
    const head = this.v6.get(ip);
    return head === undefined ? NONE : this.pick(head, startMs, endMs);
  }

  lookupV4(ip: number, startMs: number, endMs: number): number {
    const t = this.table;
    const k = ip | 0;
    let slot = Math.imul(k, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const head = t[slot * 2 + 1]!;
      if (head === EMPTY_KEY_HEAD) return NONE;
      if (t[slot * 2] === k) return this.pick(head, startMs, endMs);
      slot = (slot + 1) & this.mask;
    }
  }

  /**
   * Many IPv4 lookups at once (the columnar path): the hash probes of all queries run first,
   * then the lease scans. With a million leases both are cache misses; separating the phases
   * lets the CPU overlap the misses of independent queries instead of waiting for each in turn.
   * `heads` is scratch space of at least n entries.
   */
  lookupManyV4(ips: Int32Array, startMs: Float64Array, endMs: Float64Array, n: number, out: Int32Array, heads: Int32Array): void {
    const t = this.table;
    const mask = this.mask;
    const shift = this.shift;
    for (let i = 0; i < n; i++) {
      const k = ips[i]!;
      let slot = Math.imul(k, 0x9e3779b1) >>> shift;
      let head = t[slot * 2 + 1]!;
      while (head !== EMPTY_KEY_HEAD && t[slot * 2] !== k) {
        slot = (slot + 1) & mask;
        head = t[slot * 2 + 1]!;
      }
      heads[i] = head;
    }
    for (let i = 0; i < n; i++) {
      const h = heads[i]!;
      out[i] = h === EMPTY_KEY_HEAD ? NONE : this.pick(h, startMs[i]!, endMs[i]!);
    }
  }

  /**
   * The rule: the lease that covers the midpoint of [start, end]; else the newest lease that
   * overlaps [start, end] at all (a flow of a pod that started or stopped within the interval);
   * else NONE. A missing start or end falls back to the other one.
   */
  private pick(head: number, startMs: number, endMs: number): number {
    let t0 = startMs / 1000 - EPOCH_S;
    let t1 = endMs / 1000 - EPOCH_S;
    if (t0 !== t0) t0 = t1;
    if (t1 !== t1) t1 = t0;
    if (t0 !== t0) return NONE;
    const mid = (t0 + t1) * 0.5;
    const l = this.leases;
    let overlap = NONE;
    for (let i = head; i !== NIL; i = l[i * STRIDE + 3]!) {
      const o = i * STRIDE;
      const s = l[o]!;
      if (s > t1) continue;
      const e = l[o + 1]!;
      if (s <= mid && e > mid) return l[o + 2]!;
      if (overlap === NONE && e > t0) overlap = l[o + 2]!;
    }
    return overlap;
  }

  /**
   * Drops leases that ended before `cutoffMs` and lays the remaining lists out contiguously.
   * Returns the map old lease id -> new lease id (NONE when dropped) so owners of lease ids
   * can follow.
   */
  compact(cutoffMs: number): Int32Array {
    const cut = toEndSec(cutoffMs);
    const old = this.leases;
    const remap = new Int32Array(this.leaseCount).fill(NONE);
    let kept = 0;
    for (let i = 0; i < this.leaseCount; i++) if (old[i * STRIDE + 1]! >= cut) kept++;
    const fresh = new Int32Array(Math.max(16, kept + (kept >> 2)) * STRIDE);
    let n = 0;
    const copyList = (head: number): number => {
      let first = NIL;
      let prev = NIL;
      for (let i = head; i !== NIL; i = old[i * STRIDE + 3]!) {
        const o = i * STRIDE;
        if (old[o + 1]! < cut) continue;
        const d = n * STRIDE;
        fresh[d] = old[o]!;
        fresh[d + 1] = old[o + 1]!;
        fresh[d + 2] = old[o + 2]!;
        fresh[d + 3] = NIL;
        if (prev === NIL) first = n;
        else fresh[prev * STRIDE + 3] = n;
        prev = n;
        remap[i] = n++;
      }
      return first;
    };
    const oldTable = this.table;
    const entries: [number, number][] = [];
    for (let s = 0; s < oldTable.length; s += 2) {
      if (oldTable[s + 1] === EMPTY_KEY_HEAD) continue;
      const head = copyList(oldTable[s + 1]!);
      if (head !== NIL) entries.push([oldTable[s]!, head]);
    }
    for (const [ip, head] of [...this.v6]) {
      const h = copyList(head);
      if (h === NIL) this.v6.delete(ip);
      else this.v6.set(ip, h);
    }
    this.leases = fresh;
    this.leaseCount = n;
    const cap = tableCapacity(entries.length);
    this.table = new Int32Array(cap * 2).fill(EMPTY_KEY_HEAD);
    this.shift = 32 - Math.log2(cap);
    this.mask = cap - 1;
    this.v4Count = 0;
    for (const [ip, head] of entries) {
      const slot = this.findSlot(ip >>> 0);
      this.table[slot * 2] = ip;
      this.table[slot * 2 + 1] = head;
      this.v4Count++;
    }
    return remap;
  }

  /** Every lease of an endpoint id set (for tests and diagnostics; not a hot path). */
  *entries(): Generator<{ ip: string; start: number; end: number; endpoint: number }> {
    const l = this.leases;
    const walk = function* (ip: string, head: number) {
      for (let i = head; i !== NIL; i = l[i * STRIDE + 3]!) {
        const o = i * STRIDE;
        yield { ip, start: (l[o]! + EPOCH_S) * 1000, end: l[o + 1] === OPEN ? Infinity : (l[o + 1]! + EPOCH_S) * 1000, endpoint: l[o + 2]! };
      }
    };
    for (let s = 0; s < this.table.length; s += 2) {
      if (this.table[s + 1] !== EMPTY_KEY_HEAD) yield* walk(uintToIpv4(this.table[s]! >>> 0), this.table[s + 1]!);
    }
    for (const [ip, head] of this.v6) yield* walk(ip, head);
  }

  private newLease(startMs: number, endMs: number, endpoint: number): number {
    if (!(endpoint >= 0)) throw new RangeError(`endpoint id must be >= 0, got ${endpoint}`);
    if (Number.isNaN(startMs)) throw new RangeError('lease start is not a time');
    if ((this.leaseCount + 1) * STRIDE > this.leases.length) {
      const grown = new Int32Array(this.leases.length * 2);
      grown.set(this.leases);
      this.leases = grown;
    }
    const id = this.leaseCount++;
    const o = id * STRIDE;
    const s = toStartSec(startMs);
    this.leases[o] = s;
    this.leases[o + 1] = Math.max(s, toEndSec(endMs));
    this.leases[o + 2] = endpoint;
    this.leases[o + 3] = NIL;
    return id;
  }

  /** Inserts lease `id` into the list at `head` keeping newest-first order; returns the new head. */
  private link(head: number, id: number): number {
    const l = this.leases;
    const s = l[id * STRIDE]!;
    if (head === NIL || l[head * STRIDE]! <= s) {
      l[id * STRIDE + 3] = head;
      return id;
    }
    let prev = head;
    while (l[prev * STRIDE + 3] !== NIL && l[l[prev * STRIDE + 3]! * STRIDE]! > s) prev = l[prev * STRIDE + 3]!;
    l[id * STRIDE + 3] = l[prev * STRIDE + 3]!;
    l[prev * STRIDE + 3] = id;
    return head;
  }

  private findSlot(ip: number): number {
    const t = this.table;
    const k = ip | 0;
    let slot = Math.imul(k, 0x9e3779b1) >>> this.shift;
    while (t[slot * 2 + 1] !== EMPTY_KEY_HEAD && t[slot * 2] !== k) slot = (slot + 1) & this.mask;
    return slot;
  }

  private rehash(cap: number): void {
    const old = this.table;
    this.table = new Int32Array(cap * 2).fill(EMPTY_KEY_HEAD);
    this.shift = 32 - Math.log2(cap);
    this.mask = cap - 1;
    for (let s = 0; s < old.length; s += 2) {
      if (old[s + 1] === EMPTY_KEY_HEAD) continue;
      const slot = this.findSlot(old[s]! >>> 0);
      this.table[slot * 2] = old[s]!;
      this.table[slot * 2 + 1] = old[s + 1]!;
    }
  }
}

/** Power of two with load factor at most 1/2. */
function tableCapacity(n: number): number {
  let cap = 16;
  while (cap < n * 2) cap *= 2;
  return cap;
}
