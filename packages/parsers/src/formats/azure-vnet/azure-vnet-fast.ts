import { FNV_SEED, fnvStep, SlotInterner } from '../../core/intern.js';
import { asciiBytes, isJsonWs, skipJsonWs } from '../../core/json-cursor.js';
import { parseRfc3339Ms } from '../../core/time.js';

/**
 * Fast path for one VNet flow log record: reads the record straight from its bytes instead of
 * JSON.parse, which would make one string per tuple and one object per group only for the
 * parser to cut them up again.
 *
 * It accepts only the shape Azure writes (the known keys, each once; strings without escapes;
 * flowLogVersion a number) and declines everything else by returning false before anything is
 * written, so the caller runs JSON.parse and the general code, which own every error message.
 * Correctness therefore never depends on this reader: it either reads a record exactly as the
 * general code would, or leaves it alone.
 *
 * Tuples are read in the same pass into typed staging arrays; a tuple this reader does not
 * recognise (IPv6, rare encryption values, long numbers, a bad field) is marked for the general
 * per-tuple code, which also words its error. Addresses are interned by their 32-bit value in
 * a direct-mapped cache, so a repeated address costs neither a substring nor a hash of one.
 */

/** Everything the writer needs from one record; arrays are reused from record to record. */
export class VnetStaged {
  time = '';
  version = NaN;
  guid: string | null = null;
  mac: string | null = null;
  category: string | null = null;
  flowLogId: string | null = null;
  target: string | null = null;
  // groups, in acl then rule order
  groups = 0;
  groupAcl: (string | null)[] = [];
  groupRule: (string | null)[] = [];
  /** tuple index one past the group's last tuple */
  groupEnd = new Int32Array(16);
  // tuples
  tuples = 0;
  cap = 0;
  /** 0: read here; 1: hand to the general code (bytes [start, end) of the record) */
  slow = new Uint8Array(0);
  start = new Int32Array(0);
  end = new Int32Array(0);
  ts = new Float64Array(0);
  sport = new Float64Array(0);
  dport = new Float64Array(0);
  proto = new Float64Array(0);
  /** 73 I / 79 O */
  dir = new Uint8Array(0);
  /** 66 B, 67 C, 69 E, 68 D */
  state = new Uint8Array(0);
  /** 1 X, 2 NX */
  enc = new Uint8Array(0);
  pSD = new Float64Array(0);
  bSD = new Float64Array(0);
  pDS = new Float64Array(0);
  bDS = new Float64Array(0);
  src: string[] = [];
  dst: string[] = [];

  grow(): void {
    const n = Math.max(256, this.cap * 2);
    const f = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const u = (a: Uint8Array) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    const i = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.slow = u(this.slow);
    this.start = i(this.start);
    this.end = i(this.end);
    this.ts = f(this.ts);
    this.sport = f(this.sport);
    this.dport = f(this.dport);
    this.proto = f(this.proto);
    this.dir = u(this.dir);
    this.state = u(this.state);
    this.enc = u(this.enc);
    this.pSD = f(this.pSD);
    this.bSD = f(this.bSD);
    this.pDS = f(this.pDS);
    this.bDS = f(this.bDS);
    this.cap = n;
  }
}

const bytesOf = asciiBytes;
const TOP_KEYS = ['time', 'flowLogVersion', 'flowLogGUID', 'macAddress', 'category', 'flowLogResourceID', 'targetResourceID', 'operationName', 'flowRecords'].map(bytesOf);
const K_FLOWS = bytesOf('flows');
const K_ACL = bytesOf('aclID');
const K_GROUPS = bytesOf('flowGroups');
const K_RULE = bytesOf('rule');
const K_TUPLES = bytesOf('flowTuples');

/** IPv4 strings by 32-bit value: a direct-mapped cache, replaced on collision. */
class V4Cache {
  private readonly keys = new Float64Array(16384).fill(-1);
  private readonly vals: string[] = new Array<string>(16384).fill('');
  get(v: number): string {
    const slot = Math.imul(v, 0x9e3779b1) >>> 18;
    if (this.keys[slot] === v) return this.vals[slot]!;
    // canonical because the reader rejects leading zeros
    const s = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    this.keys[slot] = v;
    this.vals[slot] = s;
    return s;
  }
}

const NSG_CATEGORY = 'NetworkSecurityGroupFlowEvent';

export class VnetFastReader {
  private b: Uint8Array = new Uint8Array(0);
  private p = 0;
  private n = 0;
  /** bounds of the last string read */
  private s0 = 0;
  private s1 = 0;
  private readonly v4 = new V4Cache();
  /** record-level strings (resource ids, GUID, rule...) repeat from record to record */
  private readonly strings = new SlotInterner();
  /** FNV-1a hash and ASCII-ness of the last string read */
  private sh = 0;
  private sascii = true;
  readonly out = new VnetStaged();

  /** Reads a whole record into `out`; false (and nothing to write) when the general code must handle it. */
  read(bytes: Uint8Array): boolean {
    // any escape anywhere: leave the record to JSON.parse (one native scan)
    if (bytes.indexOf(92) !== -1) return false;
    this.b = bytes;
    this.p = 0;
    this.n = bytes.length;
    const o = this.out;
    o.groups = 0;
    o.tuples = 0;
    o.guid = o.mac = o.category = o.flowLogId = o.target = null;
    o.version = NaN;
    let seen = 0;
    if (!this.open(123)) return false;
    if (!this.ws()) return false;
    if (this.b[this.p] === 125) return false;
    for (;;) {
      if (!this.str()) return false;
      const k = this.keyOf(TOP_KEYS);
      if (k < 0 || seen & (1 << k)) return false;
      seen |= 1 << k;
      if (!this.open(58) || !this.ws()) return false;
      if (k === 1) {
        const v = this.num();
        if (Number.isNaN(v)) return false;
        o.version = v;
      } else if (k === 8) {
        if (!this.flowRecords()) return false;
      } else {
        const v = this.strOrNull();
        if (v === undefined) return false;
        if (k === 0) {
          if (v === null) return false;
          o.time = v;
        } else if (k === 2) o.guid = v;
        else if (k === 3) o.mac = v;
        else if (k === 4) {
          if (v === NSG_CATEGORY) return false;
          o.category = v;
        } else if (k === 5) o.flowLogId = v;
        else if (k === 6) o.target = v;
      }
      if (!this.ws()) return false;
      const c = this.b[this.p++];
      if (c === 125) break;
      if (c !== 44 || !this.ws()) return false;
    }
    // time and flowRecords are required, and the time must read (the general code words both errors)
    if ((seen & 1) === 0 || (seen & (1 << 8)) === 0) return false;
    if (Number.isNaN(parseRfc3339Ms(o.time))) return false;
    return skipJsonWs(this.b, this.p, this.n) === this.n;
  }

  private flowRecords(): boolean {
    if (!this.open(123) || !this.ws()) return false;
    if (!this.str() || !this.is(K_FLOWS) || !this.open(58) || !this.ws() || !this.open(91) || !this.ws()) return false;
    if (this.b[this.p] === 93) this.p++;
    else {
      for (;;) {
        if (!this.flow() || !this.ws()) return false;
        const c = this.b[this.p++];
        if (c === 93) break;
        if (c !== 44 || !this.ws()) return false;
      }
    }
    if (!this.ws()) return false;
    return this.b[this.p++] === 125;
  }

  private flow(): boolean {
    if (!this.open(123) || !this.ws()) return false;
    let acl: string | null = null;
    let seen = 0;
    const firstGroup = this.out.groups;
    for (;;) {
      if (!this.str()) return false;
      const k = this.is(K_ACL) ? 1 : this.is(K_GROUPS) ? 2 : 0;
      if (k === 0 || seen & k) return false;
      seen |= k;
      if (!this.open(58) || !this.ws()) return false;
      if (k === 1) {
        const v = this.strOrNull();
        if (v === undefined) return false;
        acl = v;
      } else if (!this.groups()) return false;
      if (!this.ws()) return false;
      const c = this.b[this.p++];
      if (c === 125) break;
      if (c !== 44 || !this.ws()) return false;
    }
    if ((seen & 2) === 0) return false;
    // aclID may come after flowGroups
    for (let g = firstGroup; g < this.out.groups; g++) this.out.groupAcl[g] = acl;
    return true;
  }

  private groups(): boolean {
    if (!this.open(91) || !this.ws()) return false;
    if (this.b[this.p] === 93) {
      this.p++;
      return true;
    }
    for (;;) {
      if (!this.group() || !this.ws()) return false;
      const c = this.b[this.p++];
      if (c === 93) return true;
      if (c !== 44 || !this.ws()) return false;
    }
  }

  private group(): boolean {
    if (!this.open(123) || !this.ws()) return false;
    const o = this.out;
    let rule: string | null = null;
    let seen = 0;
    for (;;) {
      if (!this.str()) return false;
      const k = this.is(K_RULE) ? 1 : this.is(K_TUPLES) ? 2 : 0;
      if (k === 0 || seen & k) return false;
      seen |= k;
      if (!this.open(58) || !this.ws()) return false;
      if (k === 1) {
        const v = this.strOrNull();
        if (v === undefined) return false;
        rule = v;
      } else if (!this.tuples()) return false;
      if (!this.ws()) return false;
      const c = this.b[this.p++];
      if (c === 125) break;
      if (c !== 44 || !this.ws()) return false;
    }
    if ((seen & 2) === 0) return false;
    const g = o.groups++;
    if (g === o.groupEnd.length) {
      const next = new Int32Array(g * 2);
      next.set(o.groupEnd);
      o.groupEnd = next;
    }
    o.groupRule[g] = rule;
    o.groupEnd[g] = o.tuples;
    return true;
  }

  private tuples(): boolean {
    if (!this.open(91) || !this.ws()) return false;
    if (this.b[this.p] === 93) {
      this.p++;
      return true;
    }
    for (;;) {
      if (this.b[this.p] !== 34) return false;
      const s = this.p + 1;
      const e = this.b.indexOf(34, s);
      if (e === -1) return false;
      this.p = e + 1;
      if (!this.tuple(s, e)) return false;
      if (!this.ws()) return false;
      const c = this.b[this.p++];
      if (c === 93) return true;
      if (c !== 44 || !this.ws()) return false;
    }
  }

  /** Stages one tuple; false only when the record must go to JSON.parse (a control character in the string). */
  private tuple(s: number, e: number): boolean {
    const o = this.out;
    const t = o.tuples;
    if (t === o.cap) o.grow();
    o.tuples = t + 1;
    o.start[t] = s;
    o.end[t] = e;
    if (this.fastTuple(s, e, t)) {
      o.slow[t] = 0;
      return true;
    }
    o.slow[t] = 1;
    const b = this.b;
    for (let i = s; i < e; i++) if (b[i]! < 32) return false;
    return true;
  }

  /**
   * `ts,src,dst,sport,dport,proto,I|O,B|C|E|D,X|NX,p1,b1,p2,b2` with IPv4 addresses, short
   * numbers and empty-or-decimal counters: what nearly every tuple is. Anything else: false.
   * b[e] is the closing quote, so digit loops stop there without a bounds test of their own.
   */
  private fastTuple(s: number, e: number, t: number): boolean {
    const b = this.b;
    const o = this.out;
    let i = s;
    let d = 0;
    // timestamp: 1..15 digits
    let x = 0;
    while ((d = b[i]! - 48) >= 0 && d <= 9) {
      x = x * 10 + d;
      i++;
    }
    if (b[i] !== 44 || i === s || i - s > 15) return false;
    o.ts[t] = x < 1e11 ? x * 1000 : x;
    // addresses
    i = this.ipv4(i + 1);
    if (i < 0) return false;
    o.src[t] = this.v4.get(this.addr);
    i = this.ipv4(i);
    if (i < 0) return false;
    o.dst[t] = this.v4.get(this.addr);
    // ports and protocol: 1..5 and 1..3 digits
    let f = i;
    x = 0;
    while ((d = b[i]! - 48) >= 0 && d <= 9) {
      x = x * 10 + d;
      i++;
    }
    if (b[i] !== 44 || i === f || i - f > 5 || x > 65535) return false;
    o.sport[t] = x;
    f = ++i;
    x = 0;
    while ((d = b[i]! - 48) >= 0 && d <= 9) {
      x = x * 10 + d;
      i++;
    }
    if (b[i] !== 44 || i === f || i - f > 5 || x > 65535) return false;
    o.dport[t] = x;
    f = ++i;
    x = 0;
    while ((d = b[i]! - 48) >= 0 && d <= 9) {
      x = x * 10 + d;
      i++;
    }
    if (b[i] !== 44 || i === f || i - f > 3 || x > 255) return false;
    o.proto[t] = x;
    // direction, state, encryption
    if (i + 6 > e) return false;
    let c = b[i + 1]!;
    if ((c !== 73 && c !== 79) || b[i + 2] !== 44) return false;
    o.dir[t] = c;
    c = b[i + 3]!;
    if ((c !== 66 && c !== 67 && c !== 69 && c !== 68) || b[i + 4] !== 44) return false;
    o.state[t] = c;
    i += 5;
    if (b[i] === 88 && b[i + 1] === 44) {
      o.enc[t] = 1;
      i += 2;
    } else if (b[i] === 78 && b[i + 1] === 88 && b[i + 2] === 44) {
      o.enc[t] = 2;
      i += 3;
    } else return false;
    // four counters, each empty or 1..15 digits, separated by commas, the last one ending the tuple
    f = i;
    x = 0;
    while ((d = b[i]! - 48) >= 0 && d <= 9) {
      x = x * 10 + d;
      i++;
    }
    if (b[i] !== 44 || i - f > 15) return false;
    o.pSD[t] = i === f ? NaN : x;
    f = ++i;
    x = 0;
    while ((d = b[i]! - 48) >= 0 && d <= 9) {
      x = x * 10 + d;
      i++;
    }
    if (b[i] !== 44 || i - f > 15) return false;
    o.bSD[t] = i === f ? NaN : x;
    f = ++i;
    x = 0;
    while ((d = b[i]! - 48) >= 0 && d <= 9) {
      x = x * 10 + d;
      i++;
    }
    if (b[i] !== 44 || i - f > 15) return false;
    o.pDS[t] = i === f ? NaN : x;
    f = ++i;
    x = 0;
    while ((d = b[i]! - 48) >= 0 && d <= 9) {
      x = x * 10 + d;
      i++;
    }
    if (i !== e || i - f > 15) return false;
    o.bDS[t] = i === f ? NaN : x;
    return true;
  }

  /** value of the last IPv4 address read */
  private addr = 0;

  /** Strict dotted quad (no leading zeros) ending in a comma; the index after the comma, or -1. */
  private ipv4(i: number): number {
    const b = this.b;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const f = i;
      let x = 0;
      let d = 0;
      while ((d = b[i]! - 48) >= 0 && d <= 9) {
        x = x * 10 + d;
        i++;
      }
      const len = i - f;
      if (len === 0 || len > 3 || x > 255 || (len > 1 && b[f] === 48)) return -1;
      v = v * 256 + x;
      if (b[i] !== (k < 3 ? 46 : 44)) return -1;
      i++;
    }
    this.addr = v;
    return i;
  }

  // --- JSON pieces ----------------------------------------------------------------------

  // the loop written here, not a call: it runs between every two tokens
  private ws(): boolean {
    const b = this.b;
    let p = this.p;
    while (p < this.n && isJsonWs(b[p]!)) p++;
    this.p = p;
    return p < this.n;
  }

  private open(ch: number): boolean {
    if (this.b[this.p] !== ch) return false;
    this.p++;
    return true;
  }

  /** A string without escapes or control characters; bounds in s0/s1, hash in sh. */
  private str(): boolean {
    const b = this.b;
    if (b[this.p] !== 34) return false;
    const s = this.p + 1;
    const e = b.indexOf(34, s);
    if (e === -1) return false;
    let h = FNV_SEED;
    let hi = 0;
    for (let i = s; i < e; i++) {
      const c = b[i]!;
      if (c < 32) return false;
      hi |= c;
      h = fnvStep(h, c);
    }
    this.sh = h;
    this.sascii = hi < 128;
    this.s0 = s;
    this.s1 = e;
    this.p = e + 1;
    return true;
  }

  /** string value, null for JSON null, undefined when neither */
  private strOrNull(): string | null | undefined {
    const b = this.b;
    const p = this.p;
    if (b[p] === 110) {
      if (b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108) {
        this.p = p + 4;
        return null;
      }
      return undefined;
    }
    if (!this.str()) return undefined;
    return this.strings.get(b, this.s0, this.s1, this.sh, this.sascii);
  }

  /** A JSON number, NaN when the text is not one. */
  private num(): number {
    const b = this.b;
    const s = this.p;
    let i = s;
    if (b[i] === 45) i++;
    const d0 = i;
    while (i < this.n && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === d0 || (b[d0] === 48 && i - d0 > 1)) return NaN;
    if (b[i] === 46) {
      const f = ++i;
      while (i < this.n && b[i]! >= 48 && b[i]! <= 57) i++;
      if (i === f) return NaN;
    }
    if (b[i] === 101 || b[i] === 69) {
      i++;
      if (b[i] === 43 || b[i] === 45) i++;
      const f = i;
      while (i < this.n && b[i]! >= 48 && b[i]! <= 57) i++;
      if (i === f) return NaN;
    }
    this.p = i;
    return Number(Buffer.from(b.buffer, b.byteOffset + s, i - s).toString('latin1'));
  }

  private is(key: Uint8Array): boolean {
    const len = this.s1 - this.s0;
    if (len !== key.length) return false;
    const b = this.b;
    for (let i = 0; i < len; i++) if (b[this.s0 + i] !== key[i]) return false;
    return true;
  }

  private keyOf(keys: Uint8Array[]): number {
    for (let k = 0; k < keys.length; k++) if (this.is(keys[k]!)) return k;
    return -1;
  }
}

