import { daysFromCivil, parseRfc3339Ms } from '../../core/time.js';
import { END, FAIL, JsonCursor, jsonKeys as keys, UNKNOWN, type JsonKeys as Keys } from '../../core/json-cursor.js';
import { normalizeIp } from '@sightline/flow';
import { Interner } from '../../core/intern.js';
import type { GcpCols, SideCols } from './gcp-cols.js';

/**
 * Fast path for one GCP LogEntry line: walks the line's bytes and writes the row directly,
 * without JSON.parse building ~25 objects and ~90 strings per line that the parser would
 * only read once and drop.
 *
 * It accepts the shape Cloud Logging writes (objects, strings without escapes, integers as
 * numbers or decimal strings, each key once) and declines anything else by returning false;
 * the caller then clears the row and runs JSON.parse and the general code, which own every
 * error message. So a line is either read exactly as the general code would read it or left
 * to it: the general code stays the reference, this is only a shortcut for the usual case.
 *
 * Strings are interned from their bytes (hash while scanning, compare on hit), so a repeated
 * value costs no new string at all; keys are matched as bytes.
 */

const TOP = keys('insertId', 'logName', 'timestamp', 'resource', 'jsonPayload');
const RESOURCE = keys('labels');
const LABELS = keys('location', 'project_id', 'subnetwork_id', 'subnetwork_name');
const PAYLOAD = keys(
  'connection', 'reporter', 'rtt_msec', 'bytes_sent', 'packets_sent', 'start_time', 'end_time',
  'src_instance', 'dest_instance', 'src_vpc', 'dest_vpc', 'src_location', 'dest_location', 'src_gke_details', 'dest_gke_details',
);
const CONNECTION = keys('src_ip', 'dest_ip', 'src_port', 'dest_port', 'protocol');
const INSTANCE = keys('project_id', 'region', 'vm_name', 'zone', 'managed_instance_group');
const MIG = keys('name', 'region', 'zone');
const VPC = keys('project_id', 'vpc_name', 'subnetwork_name');
const LOCATION = keys('continent', 'country', 'region', 'city', 'asn');
const GKE = keys('cluster', 'pod', 'service');
const CLUSTER = keys('cluster_name', 'cluster_location');
const POD = keys('pod_name', 'pod_namespace', 'pod_workload');
const WORKLOAD = keys('workload_name', 'workload_type');
const SERVICE = keys('service_name', 'service_namespace');

export class GcpFastReader extends JsonCursor {
  /** last string value read: interned, or null for JSON null */
  private sv: string | null = null;
  private readonly strings = new Interner(1 << 14);
  /** normalized addresses by the bytes of their text */
  private readonly addrs = new Interner(1 << 14);

  /** Reads bytes [start, end) of `buf` into `row`; false when the general code must (the row may be half written). */
  read(buf: Buffer, start: number, end: number, c: GcpCols, row: number): boolean {
    this.reset(buf, start, end);
    if (!this.ws() || buf[this.p] !== 123) return false;
    this.p++;
    let seen = 0;
    let first = true;
    let hasPayload = false;
    for (;;) {
      const k = this.nextKey(TOP, first);
      first = false;
      if (k === END) break;
      if (k === FAIL) return false;
      if (k === UNKNOWN) {
        if (!this.skipValue(0)) return false;
        continue;
      }
      if (seen & (1 << k)) return false;
      seen |= 1 << k;
      switch (k) {
        case 0:
          // unique per line: not worth a slot in the interner
          if (!this.strValue(false)) return false;
          c.insertId[row] = this.sv;
          break;
        case 1:
          if (!this.strTo(c.logName, row)) return false;
          break;
        case 2:
          if (!this.time(c.timestamp, row)) return false;
          break;
        case 3:
          if (!this.resource(c, row)) return false;
          break;
        case 4:
          if (!this.payload(c, row)) return false;
          hasPayload = true;
          break;
      }
    }
    if (!hasPayload || !this.atEnd()) return false;
    // the row was clean before this line, so its cells tell what the line held
    let project = c.projectId[row] ?? null;
    if (project === null) {
      const reporter = c.reporter[row];
      const side = reporter === 'DEST' || reporter === 'DEST_GATEWAY' ? c.dest : c.src;
      project = side.instProject[row] ?? side.vpcProject[row] ?? null;
    }
    c.account[row] = project;
    c.cloud[row] = 'gcp';
    c.format[row] = 'gcp-vpc-json';
    return true;
  }

  private resource(c: GcpCols, row: number): boolean {
    if (this.isNull()) return true;
    if (!this.eat(123)) return false;
    let first = true;
    let seen = 0;
    for (;;) {
      const k = this.nextKey(RESOURCE, first);
      first = false;
      if (k === END) return true;
      if (k === FAIL) return false;
      if (k === UNKNOWN) {
        if (!this.skipValue(1)) return false;
        continue;
      }
      if (seen) return false;
      seen = 1;
      if (this.isNull()) continue;
      if (!this.eat(123)) return false;
      let f2 = true;
      let s2 = 0;
      for (;;) {
        const j = this.nextKey(LABELS, f2);
        f2 = false;
        if (j === END) break;
        if (j === FAIL) return false;
        if (j === UNKNOWN) {
          if (!this.skipValue(2)) return false;
          continue;
        }
        if (s2 & (1 << j)) return false;
        s2 |= 1 << j;
        const col = j === 0 ? c.location : j === 1 ? c.projectId : j === 2 ? c.subnetId : c.subnetName;
        if (!this.strTo(col, row)) return false;
      }
    }
  }

  private payload(c: GcpCols, row: number): boolean {
    if (!this.eat(123)) return false;
    let first = true;
    let seen = 0;
    for (;;) {
      const k = this.nextKey(PAYLOAD, first);
      first = false;
      if (k === END) break;
      // another payload key would go to the row's extras: the general code does that
      if (k === FAIL || k === UNKNOWN) return false;
      if (seen & (1 << k)) return false;
      seen |= 1 << k;
      let ok: boolean;
      switch (k) {
        case 0:
          ok = this.connection(c, row);
          break;
        case 1:
          ok = this.strTo(c.reporter, row);
          if (ok) c.direction[row] = this.sv === 'SRC' ? 'egress' : this.sv === 'DEST' ? 'ingress' : null;
          break;
        case 2:
          ok = this.int();
          c.rtt[row] = this.iv;
          break;
        case 3:
          ok = this.int();
          c.bytes[row] = this.iv;
          break;
        case 4:
          ok = this.int();
          c.packets[row] = this.iv;
          break;
        case 5:
          ok = this.time(c.start, row);
          break;
        case 6:
          ok = this.time(c.end, row);
          break;
        case 7:
          ok = this.instance(c.src, row);
          break;
        case 8:
          ok = this.instance(c.dest, row);
          break;
        case 9:
          ok = this.vpc(c.src, row);
          break;
        case 10:
          ok = this.vpc(c.dest, row);
          break;
        case 11:
          ok = this.location(c.src, row);
          break;
        case 12:
          ok = this.location(c.dest, row);
          break;
        case 13:
          ok = this.gke(c.src, row);
          break;
        default:
          ok = this.gke(c.dest, row);
      }
      if (!ok) return false;
    }
    // connection is required; the general code words the error
    return (seen & 1) === 1;
  }

  private connection(c: GcpCols, row: number): boolean {
    if (!this.eat(123)) return false;
    let first = true;
    let seen = 0;
    for (;;) {
      const k = this.nextKey(CONNECTION, first);
      first = false;
      if (k === END) break;
      if (k === FAIL) return false;
      if (k === UNKNOWN) {
        if (!this.skipValue(2)) return false;
        continue;
      }
      if (seen & (1 << k)) return false;
      seen |= 1 << k;
      if (k <= 1) {
        if (!this.str()) return false;
        let a = this.addrs.get(this.b, this.s0, this.s1, this.sh);
        if (a === null) {
          a = normalizeIp(this.lastStr());
          if (a === null) return false;
          this.addrs.set(this.b, this.s0, this.s1, this.sh, a);
        }
        if (k === 0) c.srcAddr[row] = a;
        else c.dstAddr[row] = a;
      } else {
        if (!this.int()) return false;
        const v = this.iv;
        if (k === 4) {
          if (!(v >= 0 && v <= 255)) return false;
          c.protocol[row] = v;
        } else {
          if (v < 0 || v > 65535) return false;
          if (k === 2) c.srcPort[row] = v;
          else c.dstPort[row] = v;
        }
      }
    }
    // src_ip, dest_ip and protocol are required
    return (seen & 0b10011) === 0b10011;
  }

  private instance(s: SideCols, row: number): boolean {
    if (this.isNull()) return true;
    if (!this.eat(123)) return false;
    let first = true;
    let seen = 0;
    for (;;) {
      const k = this.nextKey(INSTANCE, first);
      first = false;
      if (k === END) return true;
      if (k === FAIL) return false;
      if (k === UNKNOWN) {
        if (!this.skipValue(3)) return false;
        continue;
      }
      if (seen & (1 << k)) return false;
      seen |= 1 << k;
      if (k === 4) {
        if (!this.mig(s, row)) return false;
        continue;
      }
      if (!this.strTo(k === 0 ? s.instProject : k === 1 ? s.instRegion : k === 2 ? s.instVm : s.instZone, row)) return false;
    }
  }

  private mig(s: SideCols, row: number): boolean {
    if (this.isNull()) return true;
    return this.flat(MIG, s.migCols, row, 4);
  }

  private vpc(s: SideCols, row: number): boolean {
    if (this.isNull()) return true;
    return this.flat(VPC, s.vpcCols, row, 3);
  }

  private location(s: SideCols, row: number): boolean {
    if (this.isNull()) return true;
    if (!this.eat(123)) return false;
    let first = true;
    let seen = 0;
    for (;;) {
      const k = this.nextKey(LOCATION, first);
      first = false;
      if (k === END) return true;
      if (k === FAIL) return false;
      if (k === UNKNOWN) {
        if (!this.skipValue(3)) return false;
        continue;
      }
      if (seen & (1 << k)) return false;
      seen |= 1 << k;
      if (k === 4) {
        if (!this.int()) return false;
        s.locAsn[row] = this.iv;
      } else if (!this.strTo(k === 0 ? s.locContinent : k === 1 ? s.locCountry : k === 2 ? s.locRegion : s.locCity, row)) return false;
    }
  }

  private gke(s: SideCols, row: number): boolean {
    if (this.isNull()) return true;
    if (!this.eat(123)) return false;
    let first = true;
    let seen = 0;
    for (;;) {
      const k = this.nextKey(GKE, first);
      first = false;
      if (k === END) return true;
      if (k === FAIL) return false;
      if (k === UNKNOWN) {
        if (!this.skipValue(3)) return false;
        continue;
      }
      if (seen & (1 << k)) return false;
      seen |= 1 << k;
      if (k === 0) {
        if (this.isNull()) continue;
        if (!this.flat(CLUSTER, s.clusterCols, row, 4)) return false;
      } else if (k === 1) {
        if (!this.pod(s, row)) return false;
      } else if (!this.services(s, row)) return false;
    }
  }

  private pod(s: SideCols, row: number): boolean {
    if (this.isNull()) return true;
    if (!this.eat(123)) return false;
    let first = true;
    let seen = 0;
    for (;;) {
      const k = this.nextKey(POD, first);
      first = false;
      if (k === END) return true;
      if (k === FAIL) return false;
      if (k === UNKNOWN) {
        if (!this.skipValue(4)) return false;
        continue;
      }
      if (seen & (1 << k)) return false;
      seen |= 1 << k;
      if (k === 2) {
        if (this.isNull()) continue;
        if (!this.flat(WORKLOAD, s.workloadCols, row, 5)) return false;
      } else if (!this.strTo(k === 0 ? s.gkePod : s.gkeNs, row)) return false;
    }
  }

  /** service: [{service_name, service_namespace}...] joined with commas, '' for an absent member */
  private services(s: SideCols, row: number): boolean {
    if (this.isNull()) return true;
    const b = this.b;
    if (b[this.p] !== 91) return false;
    this.p++;
    if (!this.ws()) return false;
    let names: string | null = null;
    let nss: string | null = null;
    if (b[this.p] === 93) this.p++;
    else {
      for (;;) {
        if (!this.isNull()) {
          if (!this.eat(123)) return false;
          let first = true;
          let seen = 0;
          let sn = '';
          let sns = '';
          for (;;) {
            const k = this.nextKey(SERVICE, first);
            first = false;
            if (k === END) break;
            if (k === FAIL) return false;
            if (k === UNKNOWN) {
              if (!this.skipValue(5)) return false;
              continue;
            }
            if (seen & (1 << k)) return false;
            seen |= 1 << k;
            if (!this.strValue(true)) return false;
            if (k === 0) sn = this.sv ?? '';
            else sns = this.sv ?? '';
          }
          names = names === null ? sn : `${names},${sn}`;
          nss = nss === null ? sns : `${nss},${sns}`;
        }
        if (!this.ws()) return false;
        const ch = b[this.p++];
        if (ch === 93) break;
        if (ch !== 44 || !this.ws()) return false;
      }
    }
    s.gkeSvc[row] = names;
    s.gkeSvcNs[row] = nss;
    return true;
  }

  /** An object of string members only, each to its column. */
  private flat(ks: Keys, cols: readonly (string | null)[][], row: number, depth: number): boolean {
    if (!this.eat(123)) return false;
    let first = true;
    let seen = 0;
    for (;;) {
      const k = this.nextKey(ks, first);
      first = false;
      if (k === END) return true;
      if (k === FAIL) return false;
      if (k === UNKNOWN) {
        if (!this.skipValue(depth)) return false;
        continue;
      }
      if (seen & (1 << k)) return false;
      seen |= 1 << k;
      if (!this.strTo(cols[k]!, row)) return false;
    }
  }

  /** A string (interned when asked) or null into `sv`; false for any other value or an escape. */
  private strValue(intern: boolean): boolean {
    if (intern) {
      const v = this.internedOrNull(this.strings);
      if (v === undefined) return false;
      this.sv = v;
      return true;
    }
    if (this.b[this.p] !== 34) {
      if (!this.isNull()) return false;
      this.sv = null;
      return true;
    }
    if (!this.str()) return false;
    this.sv = this.lastStr();
    return true;
  }

  private strTo(col: (string | null)[], row: number): boolean {
    if (!this.strValue(true)) return false;
    col[row] = this.sv;
    return true;
  }

  /** RFC 3339 string or null into `col`; false when it does not read (the general code words that) */
  private time(col: Float64Array, row: number): boolean {
    const b = this.b;
    if (b[this.p] !== 34) {
      if (this.isNull()) return true;
      return false;
    }
    const s = this.p + 1;
    let i = s;
    while (i < this.n && b[i]! >= 32 && b[i] !== 34 && b[i] !== 92 && b[i]! < 128) i++;
    if (i >= this.n || b[i] !== 34) return false;
    this.p = i + 1;
    let t = rfc3339Bytes(b, s, i);
    // anything but the usual UTC form is left to the reference parser
    if (Number.isNaN(t)) t = parseRfc3339Ms(this.text(s, i, true));
    if (Number.isNaN(t)) return false;
    col[row] = t;
    return true;
  }
}

const d2 = (b: Uint8Array, i: number): number => {
  const x = b[i]! - 48;
  const y = b[i + 1]! - 48;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -100_000;
};

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` straight from the bytes, as parseRfc3339Ms reads it (which
 * the tests check); NaN for any other form (offsets, lower-case t/z, space, years before 100),
 * which the caller then hands to parseRfc3339Ms itself.
 */
export function rfc3339Bytes(b: Uint8Array, s: number, e: number): number {
  if (e - s < 20) return NaN;
  const y = d2(b, s) * 100 + d2(b, s + 2);
  const mo = d2(b, s + 5);
  const d = d2(b, s + 8);
  const h = d2(b, s + 11);
  const mi = d2(b, s + 14);
  const se = d2(b, s + 17);
  if (b[s + 4] !== 45 || b[s + 7] !== 45 || b[s + 10] !== 84 || b[s + 13] !== 58 || b[s + 16] !== 58) return NaN;
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return NaN;
  let i = s + 19;
  let frac = 0;
  if (b[i] === 46) {
    i++;
    let scale = 100;
    const from = i;
    while (i < e) {
      const c = b[i]! - 48;
      if (c < 0 || c > 9) break;
      frac += c * scale;
      scale /= 10;
      i++;
    }
    if (i === from) return NaN;
  }
  if (b[i] !== 90 || i + 1 !== e) return NaN;
  return daysFromCivil(y, mo, d) * 86_400_000 + ((h * 60 + mi) * 60 + se) * 1000 + frac;
}

