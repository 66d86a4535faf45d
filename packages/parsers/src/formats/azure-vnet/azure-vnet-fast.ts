import { Interner } from '../../core/intern.js';
import { asciiBytes, JsonCursor } from '../../core/json-cursor.js';
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
 * per-tuple code, which also words its error. Addresses are cached by their 32-bit value, so a
 * repeated address costs neither a substring nor a hash of one.
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

const NSG_CATEGORY = 'NetworkSecurityGroupFlowEvent';

export class VnetFastReader extends JsonCursor {
  private readonly v4 = new Interner(1 << 16);
  /** record-level strings (resource ids, GUID, rule...) repeat from record to record */
  private readonly strings = new Interner(1 << 14);
  readonly out = new VnetStaged();

  /** Reads a whole record into `out`; false (and nothing to write) when the general code must handle it. */
  read(bytes: Uint8Array): boolean {
    // any escape anywhere: leave the record to JSON.parse (one native scan)
    if (bytes.indexOf(92) !== -1) return false;
    this.reset(bytes, 0, bytes.length);
    const o = this.out;
    o.groups = 0;
    o.tuples = 0;
    o.guid = o.mac = o.category = o.flowLogId = o.target = null;
    o.version = NaN;
    let seen = 0;
    if (!this.eat(123)) return false;
    if (!this.ws()) return false;
    if (this.b[this.p] === 125) return false;
    for (;;) {
      if (!this.str()) return false;
      const k = this.strIndex(TOP_KEYS);
      if (k < 0 || seen & (1 << k)) return false;
      seen |= 1 << k;
      if (!this.eat(58) || !this.ws()) return false;
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
    return this.atEnd();
  }

  private flowRecords(): boolean {
    if (!this.eat(123) || !this.ws()) return false;
    if (!this.str() || !this.strIs(K_FLOWS) || !this.eat(58) || !this.ws() || !this.eat(91) || !this.ws()) return false;
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
    if (!this.eat(123) || !this.ws()) return false;
    let acl: string | null = null;
    let seen = 0;
    const firstGroup = this.out.groups;
    for (;;) {
      if (!this.str()) return false;
      const k = this.strIs(K_ACL) ? 1 : this.strIs(K_GROUPS) ? 2 : 0;
      if (k === 0 || seen & k) return false;
      seen |= k;
      if (!this.eat(58) || !this.ws()) return false;
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
    if (!this.eat(91) || !this.ws()) return false;
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
    if (!this.eat(123) || !this.ws()) return false;
    const o = this.out;
    let rule: string | null = null;
    let seen = 0;
    for (;;) {
      if (!this.str()) return false;
      const k = this.strIs(K_RULE) ? 1 : this.strIs(K_TUPLES) ? 2 : 0;
      if (k === 0 || seen & k) return false;
      seen |= k;
      if (!this.eat(58) || !this.ws()) return false;
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
    if (!this.eat(91) || !this.ws()) return false;
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
    o.src[t] = this.ip4(this.addr);
    i = this.ipv4(i);
    if (i < 0) return false;
    o.dst[t] = this.ip4(this.addr);
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

  /** The text of IPv4 address `v` (canonical: the reader rejects leading zeros), cached. */
  private ip4(v: number): string {
    let s = this.v4.getInt(v | 0);
    if (s === null) {
      s = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
      this.v4.setInt(v | 0, s);
    }
    return s;
  }

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

  /** string value, null for JSON null, undefined when neither */
  private strOrNull(): string | null | undefined {
    return this.internedOrNull(this.strings);
  }
}
