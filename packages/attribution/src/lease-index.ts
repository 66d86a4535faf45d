/**
 * The time-indexed IP index of one cluster: which endpoint held an address at a given time.
 *
 * Hot path layout (a lookup at a time inside the address's newest lease reads one cache line
 * of the table and nothing else; flows are looked up minutes to hours after the fact):
 * - IPv4 addresses are uint32 keys in an open-addressing table (linear probing, power-of-two
 *   size, multiplicative hash) of 32-byte entries, two per cache line. An entry holds the key,
 *   a copy of the address's newest lease (start, end, endpoint), the latest end among its other
 *   leases, and where those are. Most lookups are answered from the entry alone: the flow time
 *   falls in the newest lease, or after every other lease ended.
 * - leases are records of three int32s (start, end, endpoint) in one typed array: 12 bytes per
 *   lease. Times are seconds since 2000-01-01 (Kubernetes times have second precision, so
 *   nothing is lost; int32 lasts until 2068). The lease id is the record's index.
 * - `compact` lays out the leases of each address as one contiguous run, newest first, and
 *   drops those that ended before the retention cutoff. Leases added since then (the tail) are
 *   linked newest first through a `next` array that only the tail pays for; a lookup merges
 *   run and tail by start.
 * IPv6 addresses (rare in flow logs of today's clusters) key a Map by their canonical string.
 */

/** No endpoint: the address was not held by anything known at that time. */
export const NONE = -1;

/** Lease end of a lease still held. */
const OPEN = 0x7fffffff;
const NIL = -1;
/** 2000-01-01T00:00:00Z in seconds: the zero of lease times */
const EPOCH_S = 946684800;
/** int32s per lease record: start, end, endpoint */
const RS = 3;
/** int32s per table entry (32 bytes: two entries per 64-byte cache line) */
const ES = 8;
/** entry fields */
const KEY = 0;
const N_START = 1;
const N_END = 2;
const N_EP = 3;
/** latest end among the address's leases other than the newest; -1 when it has none */
const OTHERS_END = 4;
const RUN_OFF = 5;
/** leases in the compacted run; -1 marks an empty slot */
const RUN_LEN = 6;
/** first lease of the tail list; NIL when none, DISJOINT_RUN when none and the leases of the run do not overlap */
const TAIL_HEAD = 7;
const EMPTY = -1;
/** the run is all the address has and each lease ends by the time the next one starts: the scan stops at the first lease started by the flow time */
const DISJOINT_RUN = -2;
const HASH_MUL = 0x9e3779b1;

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
  /** ES int32s per slot, see the entry fields above */
  private table: Int32Array;
  private shift: number;
  /** mask of an entry offset (slot * ES) */
  private pmask: number;
  private v4Count = 0;
  /** RS int32s per lease */
  private rec: Int32Array;
  private leaseCount = 0;
  /** first lease id of the tail (leases added since the last compaction) */
  private base = 0;
  /** next lease of the same address, newest first, for tail leases only: indexed by id - base */
  private tailNext: Int32Array;
  /** IPv6: lease ids, newest first */
  private readonly v6 = new Map<string, number[]>();

  constructor(expectedAddresses = 1024, expectedLeases = 4096) {
    this.table = newTable(tableCapacity(expectedAddresses));
    this.shift = 32 - Math.log2(this.table.length / ES);
    this.pmask = this.table.length - ES;
    this.rec = new Int32Array(Math.max(16, expectedLeases) * RS);
    this.tailNext = new Int32Array(Math.max(16, expectedLeases));
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
    return this.table.byteLength + this.rec.byteLength + this.tailNext.byteLength;
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
    const ids = this.v6.get(ip) ?? [];
    const s = this.rec[id * RS]!;
    // newest first; a lease added later goes before one with the same start
    let at = 0;
    while (at < ids.length && this.rec[ids[at]! * RS]! > s) at++;
    ids.splice(at, 0, id);
    this.v6.set(ip, ids);
    return id;
  }

  addV4(ip: number, startMs: number, endMs: number, endpoint: number): number {
    const id = this.newLease(startMs, endMs, endpoint);
    const t = this.table;
    const p = this.findEntry(ip);
    const r = this.rec;
    const o = id * RS;
    if (t[p + RUN_LEN] === EMPTY) {
      t[p + KEY] = ip | 0;
      t[p + RUN_OFF] = 0;
      t[p + RUN_LEN] = 0;
      t[p + TAIL_HEAD] = NIL;
      t[p + N_START] = r[o]!;
      t[p + N_END] = r[o + 1]!;
      t[p + N_EP] = r[o + 2]!;
      t[p + OTHERS_END] = -1;
      this.v4Count++;
    } else if (r[o]! >= t[p + N_START]!) {
      // the new lease comes first (added last, it goes before one with the same start)
      t[p + OTHERS_END] = Math.max(t[p + OTHERS_END]!, t[p + N_END]!);
      t[p + N_START] = r[o]!;
      t[p + N_END] = r[o + 1]!;
      t[p + N_EP] = r[o + 2]!;
    } else t[p + OTHERS_END] = Math.max(t[p + OTHERS_END]!, r[o + 1]!);
    // the tail is not empty any more: the disjoint mark, if any, goes
    t[p + TAIL_HEAD] = this.linkTail(Math.max(NIL, t[p + TAIL_HEAD]!), id);
    if (this.v4Count * 2 > t.length / ES) this.rehash((t.length / ES) * 2);
    return id;
  }

  /**
   * Ends lease `lease` of address `ip` (pod deleted, finished, IP changed) at `endMs`. The
   * address is needed because its table entry keeps a copy of the newest lease.
   */
  setEnd(ip: string, lease: number, endMs: number): void {
    if (!(lease >= 0 && lease < this.leaseCount)) throw new RangeError(`no lease ${lease}`);
    const u = ipv4ToUint(ip);
    let p = -1;
    if (u >= 0) {
      p = this.findEntry(u);
      if (this.table[p + RUN_LEN] === EMPTY || !this.holds(p, lease)) throw new RangeError(`lease ${lease} is not a lease of ${ip}`);
    } else if (!(this.v6.get(ip)?.includes(lease) ?? false)) throw new RangeError(`lease ${lease} is not a lease of ${ip}`);
    const o = lease * RS;
    this.rec[o + 1] = Math.max(this.rec[o]!, toEndSec(endMs));
    if (p >= 0) this.refresh(p);
  }

  /** True while the lease has no end. */
  isOpen(lease: number): boolean {
    return this.rec[lease * RS + 1] === OPEN;
  }

  /** Endpoint of `ip` over a flow's [startMs, endMs]: see `pickSlow`. */
  lookup(ip: string, startMs: number, endMs: number): number {
    const u = ipv4ToUint(ip);
    if (u >= 0) return this.lookupV4(u, startMs, endMs);
    const ids = this.v6.get(ip);
    if (ids === undefined) return NONE;
    let t0 = startMs / 1000 - EPOCH_S;
    let t1 = endMs / 1000 - EPOCH_S;
    if (t0 !== t0) t0 = t1;
    if (t1 !== t1) t1 = t0;
    if (t0 !== t0) return NONE;
    const mid = (t0 + t1) * 0.5;
    const r = this.rec;
    let overlap = NONE;
    for (const i of ids) {
      const o = i * RS;
      const s = r[o]!;
      if (s > t1) continue;
      const e = r[o + 1]!;
      if (s <= mid && e > mid) return r[o + 2]!;
      if (overlap === NONE && e > t0) overlap = r[o + 2]!;
    }
    return overlap;
  }

  lookupV4(ip: number, startMs: number, endMs: number): number {
    const t = this.table;
    const k = ip | 0;
    const pmask = this.pmask;
    let p = (Math.imul(k, HASH_MUL) >>> this.shift) * ES;
    for (;;) {
      if (t[p + RUN_LEN] === EMPTY) return NONE;
      if (t[p] === k) break;
      p = (p + ES) & pmask;
    }
    let t0 = startMs / 1000 - EPOCH_S;
    let t1 = endMs / 1000 - EPOCH_S;
    if (t0 !== t0) t0 = t1;
    if (t1 !== t1) t1 = t0;
    if (t0 !== t0) return NONE;
    const mid = (t0 + t1) * 0.5;
    const ns = t[p + N_START]!;
    const ne = t[p + N_END]!;
    if (ns <= mid && mid < ne) return t[p + N_EP]!;
    // every other lease ended by t0: none covers the midpoint or overlaps, the newest decides alone
    if (t[p + OTHERS_END]! <= t0) return ns <= t1 && ne > t0 ? t[p + N_EP]! : NONE;
    return t[p + TAIL_HEAD] === DISJOINT_RUN ? this.pickDisjoint(p, t0, t1, mid) : this.pickSlow(p, t0, t1, mid);
  }

  /**
   * `pickSlow` for a run of leases that do not overlap, newest first: the first lease that
   * starts by the midpoint is the only one that can cover it, and no older lease matters (it
   * ended before that one started), so the scan stops there. Flows are mostly recent, so this
   * reads the first cache line of the run and seldom more.
   */
  private pickDisjoint(p: number, t0: number, t1: number, mid: number): number {
    const t = this.table;
    const r = this.rec;
    let o = t[p + RUN_OFF]! * RS;
    const end = o + t[p + RUN_LEN]! * RS;
    let overlap = NONE;
    for (; o < end; o += RS) {
      const s = r[o]!;
      if (s > t1) continue;
      const e = r[o + 1]!;
      if (s <= mid) return e > mid || (overlap === NONE && e > t0) ? r[o + 2]! : overlap;
      if (overlap === NONE && e > t0) overlap = r[o + 2]!;
    }
    return overlap;
  }

  /**
   * Many IPv4 lookups at once (the columnar path). A plain loop over `lookupV4`: phased variants
   * (all probes first, then the lease scans; queries sorted by hash bucket) measured no faster
   * here, the loop already overlaps the misses of consecutive queries as long as its branches
   * are predictable, which the table entry's copy of the newest lease makes them.
   * `scratch` is unused; kept so callers that size one stay valid.
   */
  lookupManyV4(ips: Int32Array, startMs: Float64Array, endMs: Float64Array, n: number, out: Int32Array, _scratch?: Int32Array): void {
    for (let i = 0; i < n; i++) out[i] = this.lookupV4(ips[i]!, startMs[i]!, endMs[i]!);
  }

  /**
   * The rule: the lease that covers the midpoint of [start, end]; else the newest lease that
   * overlaps [start, end] at all (a flow of a pod that started or stopped within the interval);
   * else NONE. A missing start or end falls back to the other one. Walks the address's leases
   * newest first: its run merged with its tail by start (on equal starts the tail, added later,
   * comes first).
   */
  private pickSlow(p: number, t0: number, t1: number, mid: number): number {
    const t = this.table;
    const r = this.rec;
    const tn = this.tailNext;
    const base = this.base;
    let a = t[p + RUN_OFF]!;
    const aEnd = a + t[p + RUN_LEN]!;
    let q = t[p + TAIL_HEAD]!;
    if (q < 0) q = NIL;
    let overlap = NONE;
    while (a < aEnd || q !== NIL) {
      let i: number;
      if (q !== NIL && (a === aEnd || r[q * RS]! >= r[a * RS]!)) {
        i = q;
        q = tn[q - base]!;
      } else i = a++;
      const o = i * RS;
      const s = r[o]!;
      if (s > t1) continue;
      const e = r[o + 1]!;
      if (s <= mid && e > mid) return r[o + 2]!;
      if (overlap === NONE && e > t0) overlap = r[o + 2]!;
    }
    return overlap;
  }

  /** Calls `fn` with the lease ids of entry `p`, newest first. */
  private walk(p: number, fn: (id: number) => void): void {
    const t = this.table;
    const r = this.rec;
    let a = t[p + RUN_OFF]!;
    const aEnd = a + t[p + RUN_LEN]!;
    let q = t[p + TAIL_HEAD]!;
    if (q < 0) q = NIL;
    while (a < aEnd || q !== NIL) {
      if (q !== NIL && (a === aEnd || r[q * RS]! >= r[a * RS]!)) {
        fn(q);
        q = this.tailNext[q - this.base]!;
      } else fn(a++);
    }
  }

  private holds(p: number, lease: number): boolean {
    let found = false;
    this.walk(p, (id) => (found ||= id === lease));
    return found;
  }

  /** Refreshes the copy of the newest lease and the latest end of the others in entry `p`. */
  private refresh(p: number): void {
    const t = this.table;
    const r = this.rec;
    let first = true;
    let others = -1;
    let disjoint = true;
    let newerStart = OPEN;
    this.walk(p, (id) => {
      const o = id * RS;
      if (first) {
        t[p + N_START] = r[o]!;
        t[p + N_END] = r[o + 1]!;
        t[p + N_EP] = r[o + 2]!;
        first = false;
      } else if (r[o + 1]! > others) others = r[o + 1]!;
      if (r[o + 1]! > newerStart) disjoint = false;
      newerStart = r[o]!;
    });
    t[p + OTHERS_END] = others;
    if (t[p + TAIL_HEAD]! < 0) t[p + TAIL_HEAD] = disjoint ? DISJOINT_RUN : NIL;
  }

  /**
   * Drops leases that ended before `cutoffMs` and lays out the leases of each address as one
   * contiguous run. Returns the map old lease id -> new lease id (NONE when dropped) so owners
   * of lease ids can follow.
   */
  compact(cutoffMs: number): Int32Array {
    const cut = toEndSec(cutoffMs);
    const old = this.rec;
    const remap = new Int32Array(this.leaseCount).fill(NONE);
    let kept = 0;
    for (let i = 0; i < this.leaseCount; i++) if (old[i * RS + 1]! >= cut) kept++;
    // a little room for the leases that come before the next compaction
    const fresh = new Int32Array((kept + (kept >> 4) + 16) * RS);
    let n = 0;
    const keep = (id: number): void => {
      const o = id * RS;
      if (old[o + 1]! < cut) return;
      const d = n * RS;
      fresh[d] = old[o]!;
      fresh[d + 1] = old[o + 1]!;
      fresh[d + 2] = old[o + 2]!;
      remap[id] = n++;
    };
    const oldTable = this.table;
    const runs: number[] = [];
    for (let p = 0; p < oldTable.length; p += ES) {
      if (oldTable[p + RUN_LEN] === EMPTY) continue;
      const first = n;
      this.walk(p, keep);
      if (n > first) runs.push(oldTable[p + KEY]!, first, n - first);
    }
    for (const [ip, ids] of [...this.v6]) {
      const first = n;
      for (const id of ids) keep(id);
      if (n === first) this.v6.delete(ip);
      else this.v6.set(ip, Array.from({ length: n - first }, (_, j) => first + j));
    }
    this.rec = fresh;
    this.leaseCount = n;
    this.base = n;
    this.tailNext = new Int32Array(Math.max(16, n >> 4));
    const addrs = runs.length / 3;
    this.table = newTable(tableCapacity(addrs));
    this.shift = 32 - Math.log2(this.table.length / ES);
    this.pmask = this.table.length - ES;
    this.v4Count = addrs;
    const t = this.table;
    for (let j = 0; j < runs.length; j += 3) {
      const p = this.findEntry(runs[j]! >>> 0);
      t[p + KEY] = runs[j]!;
      t[p + RUN_OFF] = runs[j + 1]!;
      t[p + RUN_LEN] = runs[j + 2]!;
      t[p + TAIL_HEAD] = NIL;
      this.refresh(p);
    }
    return remap;
  }

  /** Every lease, newest first per address (for tests and diagnostics; not a hot path). */
  *entries(): Generator<{ ip: string; start: number; end: number; endpoint: number }> {
    const r = this.rec;
    const toEntry = (ip: string, id: number) => {
      const o = id * RS;
      return { ip, start: (r[o]! + EPOCH_S) * 1000, end: r[o + 1] === OPEN ? Infinity : (r[o + 1]! + EPOCH_S) * 1000, endpoint: r[o + 2]! };
    };
    const t = this.table;
    for (let p = 0; p < t.length; p += ES) {
      if (t[p + RUN_LEN] === EMPTY) continue;
      const ids: number[] = [];
      this.walk(p, (id) => ids.push(id));
      const ip = uintToIpv4(t[p + KEY]! >>> 0);
      for (const id of ids) yield toEntry(ip, id);
    }
    for (const [ip, ids] of this.v6) for (const id of ids) yield toEntry(ip, id);
  }

  private newLease(startMs: number, endMs: number, endpoint: number): number {
    if (!(endpoint >= 0)) throw new RangeError(`endpoint id must be >= 0, got ${endpoint}`);
    if (Number.isNaN(startMs)) throw new RangeError('lease start is not a time');
    if ((this.leaseCount + 1) * RS > this.rec.length) {
      const grown = new Int32Array(Math.ceil(this.rec.length * 1.5 / RS) * RS + 16 * RS);
      grown.set(this.rec);
      this.rec = grown;
    }
    const id = this.leaseCount++;
    if (id - this.base >= this.tailNext.length) {
      const grown = new Int32Array(this.tailNext.length * 2);
      grown.set(this.tailNext);
      this.tailNext = grown;
    }
    const o = id * RS;
    const s = toStartSec(startMs);
    this.rec[o] = s;
    this.rec[o + 1] = Math.max(s, toEndSec(endMs));
    this.rec[o + 2] = endpoint;
    this.tailNext[id - this.base] = NIL;
    return id;
  }

  /** Inserts tail lease `id` into the tail list at `head` keeping newest-first order; returns the new head. */
  private linkTail(head: number, id: number): number {
    const r = this.rec;
    const tn = this.tailNext;
    const b = this.base;
    const s = r[id * RS]!;
    if (head === NIL || r[head * RS]! <= s) {
      tn[id - b] = head;
      return id;
    }
    let prev = head;
    while (tn[prev - b] !== NIL && r[tn[prev - b]! * RS]! > s) prev = tn[prev - b]!;
    tn[id - b] = tn[prev - b]!;
    tn[prev - b] = id;
    return head;
  }

  /** Offset of the entry of `ip`, or of the empty slot where it would go. */
  private findEntry(ip: number): number {
    const t = this.table;
    const k = ip | 0;
    let p = (Math.imul(k, HASH_MUL) >>> this.shift) * ES;
    while (t[p + RUN_LEN] !== EMPTY && t[p] !== k) p = (p + ES) & this.pmask;
    return p;
  }

  private rehash(cap: number): void {
    const old = this.table;
    this.table = newTable(cap);
    this.shift = 32 - Math.log2(cap);
    this.pmask = this.table.length - ES;
    for (let s = 0; s < old.length; s += ES) {
      if (old[s + RUN_LEN] === EMPTY) continue;
      const p = this.findEntry(old[s]! >>> 0);
      this.table.set(old.subarray(s, s + ES), p);
    }
  }
}

function newTable(cap: number): Int32Array {
  const t = new Int32Array(cap * ES);
  for (let p = RUN_LEN; p < t.length; p += ES) t[p] = EMPTY;
  return t;
}

/** Power of two with load factor at most 1/2. */
function tableCapacity(n: number): number {
  let cap = 16;
  while (cap < n * 2) cap *= 2;
  return cap;
}
