import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { colIndex, DEFAULT_BATCH_CAPACITY, FlowBatch, normalizeIp, type StringColumn } from '@sightline/flow';
import { LineSplitter, type LineSplitterOptions } from '../../core/lines.js';
import { GcpFastReader } from './gcp-json-fast.js';
import { GcpCols, type SideCols } from './gcp-cols.js';
import { parseRfc3339Ms } from '../../core/time.js';
import { clearRow } from '../../core/rows.js';
import { Interner } from '../../core/intern.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../core/json-depth.js';
import { MAX_RAW_KEPT, ParseError, WORDED_ISSUES, type ByteSource, type ParseContext, type StreamParser } from '../../types.js';

/**
 * GCP VPC flow logs as a Cloud Logging sink writes them to Cloud Storage: one LogEntry per
 * line (NDJSON), objects up to 3.5 GiB, so the input is streamed line by line.
 *
 * Validation: `GcpLogEntrySchema` (zod) is the documented contract. Running it on every line
 * costs more than the JSON.parse itself (see bench/json-formats.bench.ts), so the hot path
 * reads the parsed object with hand-written type checks that accept exactly what the schema
 * accepts; when a check fails, the line is run through the schema so the error names the zod
 * path (`jsonPayload.connection.src_port: ...`).
 *
 * Decisions:
 * - `direction`: reporter SRC -> egress, DEST -> ingress (as seen by the reporting VM);
 *   SRC_GATEWAY / DEST_GATEWAY -> null, because the reporter is then a VPN tunnel or VLAN
 *   attachment, not an interface inside the VPC; `reporter` keeps the information.
 * - `action` is null: the record has no allow/deny field.
 * - `account`: resource.labels.project_id, else the reporter side's instance or VPC project.
 * - Invalid UTF-8 anywhere in a line makes that line an error (never replaced silently).
 * - A last line without newline that is not valid JSON is reported as `incomplete`, not as
 *   an error: that is what a reader of a partly written object sees.
 * - If the first 100 non-blank lines are all bad, the input is not this format: ParseError.
 * - A line nested deeper than MAX_JSON_DEPTH is an error before JSON.parse sees it: what runs
 *   on the parsed value (JSON.stringify of extras, zod) recurses, and would otherwise overflow
 *   the stack and fail the whole object. The fast path declines such lines itself (its own
 *   bound is lower), so the check costs nothing on the usual line.
 */

// --- the contract -----------------------------------------------------------------------

/** proto3 JSON writes int64 as a decimal string and int32 as a number; both are accepted for both. */
const Int = z.union([z.number().int(), z.string().regex(/^-?\d+$/, 'decimal integer string')]);
const Str = z.string();

const Instance = z.object({
  project_id: Str.optional(),
  region: Str.optional(),
  vm_name: Str.optional(),
  zone: Str.optional(),
  managed_instance_group: z.object({ name: Str.optional(), region: Str.optional(), zone: Str.optional() }).optional(),
});
const Vpc = z.object({ project_id: Str.optional(), vpc_name: Str.optional(), subnetwork_name: Str.optional() });
const Location = z.object({
  continent: Str.optional(),
  country: Str.optional(),
  region: Str.optional(),
  city: Str.optional(),
  asn: Int.optional(),
});
const Gke = z.object({
  cluster: z.object({ cluster_name: Str.optional(), cluster_location: Str.optional() }).optional(),
  pod: z
    .object({
      pod_name: Str.optional(),
      pod_namespace: Str.optional(),
      pod_workload: z.object({ workload_name: Str.optional(), workload_type: Str.optional() }).optional(),
    })
    .optional(),
  service: z.array(z.object({ service_name: Str.optional(), service_namespace: Str.optional() })).optional(),
});

export const GcpFlowPayloadSchema = z.looseObject({
  connection: z.object({
    src_ip: Str,
    dest_ip: Str,
    src_port: Int.optional(),
    dest_port: Int.optional(),
    protocol: Int,
  }),
  reporter: Str.optional(),
  rtt_msec: Int.optional(),
  bytes_sent: Int.optional(),
  packets_sent: Int.optional(),
  start_time: Str.optional(),
  end_time: Str.optional(),
  src_instance: Instance.optional(),
  dest_instance: Instance.optional(),
  src_vpc: Vpc.optional(),
  dest_vpc: Vpc.optional(),
  src_location: Location.optional(),
  dest_location: Location.optional(),
  src_gke_details: Gke.optional(),
  dest_gke_details: Gke.optional(),
});

export const GcpLogEntrySchema = z.object({
  insertId: Str.optional(),
  logName: Str.optional(),
  timestamp: Str.optional(),
  receiveTimestamp: Str.optional(),
  resource: z
    .object({
      type: Str.optional(),
      labels: z
        .object({ location: Str.optional(), project_id: Str.optional(), subnetwork_id: Str.optional(), subnetwork_name: Str.optional() })
        .optional(),
    })
    .optional(),
  jsonPayload: GcpFlowPayloadSchema,
});

export type GcpLogEntry = z.infer<typeof GcpLogEntrySchema>;

/** jsonPayload keys mapped to columns; any other key goes to the row's extras. */
const KNOWN_PAYLOAD_KEYS = new Set(Object.keys(GcpFlowPayloadSchema.shape));

// --- hand-written reading of the parsed entry (the hot path) ----------------------------

class Bad extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Bad(`${path}: expected object`);
  return v as Obj;
}

function str(v: unknown, path: string): string | null {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return null;
  throw new Bad(`${path}: expected string`);
}

/** int32 or int64 in either proto3 JSON form; NaN when absent. */
function int(v: unknown, path: string): number {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v;
  } else if (typeof v === 'string') {
    const n = v.length;
    let i = v.charCodeAt(0) === 45 ? 1 : 0;
    if (n > i && n - i <= 20) {
      let x = 0;
      for (; i < n; i++) {
        const c = v.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        x = x * 10 + c;
      }
      if (i === n) return v.charCodeAt(0) === 45 ? -x : x;
    }
  } else if (v === undefined || v === null) return NaN;
  throw new Bad(`${path}: expected integer (number or decimal string)`);
}

function time(v: unknown, path: string): number {
  const s = str(v, path);
  if (s === null) return NaN;
  const t = parseRfc3339Ms(s);
  if (Number.isNaN(t)) throw new Bad(`${path}: not an RFC 3339 time: ${JSON.stringify(s.slice(0, 64))}`);
  return t;
}

function port(v: unknown, path: string): number {
  const p = int(v, path);
  if (p < 0 || p > 65535) throw new Bad(`${path}: port ${p} out of range`);
  return p;
}

function addr(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new Bad(`${path}: expected string`);
  const a = normalizeIp(v);
  if (a === null) throw new Bad(`${path}: invalid IP address ${JSON.stringify(v.slice(0, 64))}`);
  return a;
}

/** Keys and error paths of one side, built once: a path string is never made on the hot path. */
class SideKeys {
  readonly instance: string;
  readonly vpc: string;
  readonly location: string;
  readonly gke: string;
  readonly path: (rest: string) => string;
  constructor(readonly pre: 'src' | 'dest') {
    this.instance = `${pre}_instance`;
    this.vpc = `${pre}_vpc`;
    this.location = `${pre}_location`;
    this.gke = `${pre}_gke_details`;
    this.path = (rest) => `jsonPayload.${pre}_${rest}`;
  }
}
const SRC = new SideKeys('src');
const DEST = new SideKeys('dest');

/** Writes a string cell (interned; the previous row's string when equal, which skips the hash) and returns it. */
function cell(col: StringColumn, row: number, v: unknown, ks: SideKeys | null, rest: string, i: Interner): string | null {
  let s: string | null;
  if (typeof v === 'string') {
    const prev = row > 0 ? col[row - 1] : null;
    s = prev === v ? prev : i.internString(v);
  } else if (v === undefined || v === null) s = null;
  else throw new Bad(`${ks === null ? rest : ks.path(rest)}: expected string`);
  col[row] = s;
  return s;
}

/** string or null, interned; throws Bad naming `path` when the value has another type. */
function istr(v: unknown, ks: SideKeys | null, rest: string, i: Interner): string | null {
  if (typeof v === 'string') return i.internString(v);
  if (v === undefined || v === null) return null;
  throw new Bad(`${ks === null ? rest : ks.path(rest)}: expected string`);
}

function sobj(v: unknown, ks: SideKeys, rest: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Bad(`${ks.path(rest)}: expected object`);
  return v as Obj;
}

/** a service entry's name or namespace, '' when absent (the path is built only for the error) */
function svcStr(v: unknown, ks: SideKeys, k: number, key: string): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  throw new Bad(`${ks.path(`gke_details.service.${k}.${key}`)}: expected string`);
}

function side(p: Obj, c: SideCols, row: number, ks: SideKeys, it: Interner): string | null {
  let project: string | null = null;
  const inst = sobj(p[ks.instance], ks, 'instance');
  if (inst) {
    project = cell(c.instProject, row, inst.project_id, ks, 'instance.project_id', it);
    cell(c.instRegion, row, inst.region, ks, 'instance.region', it);
    cell(c.instVm, row, inst.vm_name, ks, 'instance.vm_name', it);
    cell(c.instZone, row, inst.zone, ks, 'instance.zone', it);
    const mig = sobj(inst.managed_instance_group, ks, 'instance.managed_instance_group');
    if (mig) {
      cell(c.migName, row, mig.name, ks, 'instance.managed_instance_group.name', it);
      cell(c.migRegion, row, mig.region, ks, 'instance.managed_instance_group.region', it);
      cell(c.migZone, row, mig.zone, ks, 'instance.managed_instance_group.zone', it);
    }
  }
  const vpc = sobj(p[ks.vpc], ks, 'vpc');
  if (vpc) {
    const vp = cell(c.vpcProject, row, vpc.project_id, ks, 'vpc.project_id', it);
    if (project === null) project = vp;
    cell(c.vpcName, row, vpc.vpc_name, ks, 'vpc.vpc_name', it);
    cell(c.vpcSubnet, row, vpc.subnetwork_name, ks, 'vpc.subnetwork_name', it);
  }
  const loc = sobj(p[ks.location], ks, 'location');
  if (loc) {
    cell(c.locContinent, row, loc.continent, ks, 'location.continent', it);
    cell(c.locCountry, row, loc.country, ks, 'location.country', it);
    cell(c.locRegion, row, loc.region, ks, 'location.region', it);
    cell(c.locCity, row, loc.city, ks, 'location.city', it);
    c.locAsn[row] = int(loc.asn, ks.path('location.asn'));
  }
  const gke = sobj(p[ks.gke], ks, 'gke_details');
  if (gke) {
    const cl = sobj(gke.cluster, ks, 'gke_details.cluster');
    if (cl) {
      cell(c.gkeCluster, row, cl.cluster_name, ks, 'gke_details.cluster.cluster_name', it);
      cell(c.gkeClusterLoc, row, cl.cluster_location, ks, 'gke_details.cluster.cluster_location', it);
    }
    const pod = sobj(gke.pod, ks, 'gke_details.pod');
    if (pod) {
      cell(c.gkePod, row, pod.pod_name, ks, 'gke_details.pod.pod_name', it);
      cell(c.gkeNs, row, pod.pod_namespace, ks, 'gke_details.pod.pod_namespace', it);
      const wl = sobj(pod.pod_workload, ks, 'gke_details.pod.pod_workload');
      if (wl) {
        cell(c.gkeWl, row, wl.workload_name, ks, 'gke_details.pod.pod_workload.workload_name', it);
        cell(c.gkeWlType, row, wl.workload_type, ks, 'gke_details.pod.pod_workload.workload_type', it);
      }
    }
    const svc = gke.service;
    if (svc !== undefined && svc !== null) {
      if (!Array.isArray(svc)) throw new Bad(`${ks.path('gke_details.service')}: expected array`);
      let names: string | null = null;
      let nss: string | null = null;
      for (let k = 0; k < svc.length; k++) {
        const e = svc[k];
        if (e === undefined || e === null) continue;
        if (typeof e !== 'object' || Array.isArray(e)) throw new Bad(`${ks.path(`gke_details.service.${k}`)}: expected object`);
        const sn = svcStr((e as Obj).service_name, ks, k, 'service_name');
        const sns = svcStr((e as Obj).service_namespace, ks, k, 'service_namespace');
        names = names === null ? sn : `${names},${sn}`;
        nss = nss === null ? sns : `${nss},${sns}`;
      }
      c.gkeSvc[row] = names === null ? null : it.internString(names);
      c.gkeSvcNs[row] = nss === null ? null : it.internString(nss);
    }
  }
  return project;
}

const CLOUD = 'gcp';
const FORMAT = 'gcp-vpc-json';

/** Writes one parsed LogEntry into `row`; throws Bad with a field path when a field has the wrong type or value. */
function writeEntry(e: unknown, c: GcpCols, row: number, it: Interner): void {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Bad('line is not a JSON object');
  const entry = e as Obj;
  const p = obj(entry.jsonPayload, 'jsonPayload');
  if (!p) throw new Bad('jsonPayload: missing');
  const conn = obj(p.connection, 'jsonPayload.connection');
  if (!conn) throw new Bad('jsonPayload.connection: missing');

  c.srcAddr[row] = it.internString(addr(conn.src_ip, 'jsonPayload.connection.src_ip'));
  c.dstAddr[row] = it.internString(addr(conn.dest_ip, 'jsonPayload.connection.dest_ip'));
  c.srcPort[row] = port(conn.src_port, 'jsonPayload.connection.src_port');
  c.dstPort[row] = port(conn.dest_port, 'jsonPayload.connection.dest_port');
  const proto = int(conn.protocol, 'jsonPayload.connection.protocol');
  if (!(proto >= 0 && proto <= 255)) throw new Bad(`jsonPayload.connection.protocol: ${Number.isNaN(proto) ? 'missing' : `${proto} out of range`}`);
  c.protocol[row] = proto;

  const reporter = istr(p.reporter, null, 'jsonPayload.reporter', it);
  c.reporter[row] = reporter;
  c.direction[row] = reporter === 'SRC' ? 'egress' : reporter === 'DEST' ? 'ingress' : null;
  c.rtt[row] = int(p.rtt_msec, 'jsonPayload.rtt_msec');
  c.packets[row] = int(p.packets_sent, 'jsonPayload.packets_sent');
  c.bytes[row] = int(p.bytes_sent, 'jsonPayload.bytes_sent');
  c.start[row] = time(p.start_time, 'jsonPayload.start_time');
  c.end[row] = time(p.end_time, 'jsonPayload.end_time');

  const srcProject = side(p, c.src, row, SRC, it);
  const destProject = side(p, c.dest, row, DEST, it);

  const res = obj(entry.resource, 'resource');
  const labels = res ? obj(res.labels, 'resource.labels') : undefined;
  let project: string | null = null;
  if (labels) {
    project = cell(c.projectId, row, labels.project_id, null, 'resource.labels.project_id', it);
    cell(c.location, row, labels.location, null, 'resource.labels.location', it);
    cell(c.subnetId, row, labels.subnetwork_id, null, 'resource.labels.subnetwork_id', it);
    cell(c.subnetName, row, labels.subnetwork_name, null, 'resource.labels.subnetwork_name', it);
  }
  if (project === null) project = reporter === 'DEST' || reporter === 'DEST_GATEWAY' ? destProject : srcProject;
  c.account[row] = project;
  cell(c.logName, row, entry.logName, null, 'logName', it);
  c.insertId[row] = str(entry.insertId, 'insertId');
  c.timestamp[row] = time(entry.timestamp, 'timestamp');
  c.cloud[row] = CLOUD;
  c.format[row] = FORMAT;

  let extra: Record<string, string> | null = null;
  for (const k in p) {
    if (KNOWN_PAYLOAD_KEYS.has(k)) continue;
    const v = p[k];
    (extra ??= {})[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  if (extra) c.batch.extras()[row] = extra;
}

/** The zod path message for an entry the hand checks rejected, or the hand message when zod accepts it. */
function explain(e: unknown, fallback: string): string {
  const r = GcpLogEntrySchema.safeParse(e);
  if (r.success) return fallback;
  const first = r.error.issues[0];
  if (!first) return fallback;
  return `${first.path.join('.') || '(root)'}: ${first.message}`;
}

// --- the parser -------------------------------------------------------------------------

export interface GcpJsonOptions extends LineSplitterOptions {
  /** non-blank lines read before deciding that an input with no good line is not this format */
  sniffLines?: number;
  /** read usual lines with the byte-level fast path (default true; false for comparison) */
  fastPath?: boolean;
}

const SNIFF_LINES = 100;

export function createGcpJsonParser(opts: GcpJsonOptions = {}): StreamParser {
  return async function* parseGcpJson(input: ByteSource, ctx: ParseContext) {
    const capacity = ctx.batchCapacity ?? DEFAULT_BATCH_CAPACITY;
    const sniff = opts.sniffLines ?? SNIFF_LINES;
    const ready: FlowBatch[] = [];
    let cols = new GcpCols(new FlowBatch(capacity));
    const interner = new Interner(1 << 17);
    const fast = opts.fastPath === false ? null : new GcpFastReader();
    let good = 0;
    let bad = 0;
    let firstBad = '';
    let nonBlank = 0;
    /** bad lines worded with the zod schema so far */
    let worded = 0;

    const issue = (kind: 'error' | 'incomplete', line: number, offset: number, message: string, raw: Uint8Array) => {
      if (kind === 'error') {
        ctx.stats.errors++;
        bad++;
        if (firstBad === '') firstBad = `line ${line}: ${message}`;
      } else ctx.stats.incomplete++;
      ctx.onIssue({ kind, source: ctx.source, line, offset, message, raw: raw.length > MAX_RAW_KEPT ? raw.slice(0, MAX_RAW_KEPT) : raw.slice() });
      if (good === 0 && bad >= sniff) {
        throw new ParseError(ctx.source, `not GCP VPC flow log NDJSON: none of the first ${bad} lines is a flow LogEntry (first: ${firstBad})`, { line });
      }
    };

    const onLine = (buf: Uint8Array, start: number, end: number, line: number, offset: number, terminated: boolean) => {
      // skip blank lines (also whitespace-only ones)
      let i = start;
      while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
      if (i === end) return;
      nonBlank++;
      const view = buf.subarray(start, end);
      if (!isUtf8(view)) {
        issue('error', line, offset, 'invalid UTF-8', view);
        return;
      }
      // a view of the line's own buffer: no copy, and no new object when it already is a Buffer
      const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
      const row = cols.batch.length;
      if (fast !== null) {
        if (fast.read(bytes, start, end, cols, row)) {
          good++;
          ctx.stats.records++;
          if (++cols.batch.length === capacity) {
            ready.push(cols.batch);
            cols = new GcpCols(new FlowBatch(capacity));
          }
          return;
        }
        clearRow(cols.batch, row);
      }
      if (nestsDeeperThan(bytes, start, end, MAX_JSON_DEPTH)) {
        issue('error', line, offset, `nesting deeper than ${MAX_JSON_DEPTH} levels: skipped`, view);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString('utf8', start, end));
      } catch (err) {
        if (!terminated) issue('incomplete', line, offset, `last line is unfinished JSON (${(err as Error).message})`, view);
        else issue('error', line, offset, `invalid JSON: ${(err as Error).message}`, view);
        return;
      }
      try {
        writeEntry(parsed, cols, row, interner);
      } catch (err) {
        if (!(err instanceof Bad)) throw err;
        clearRow(cols.batch, row);
        issue('error', line, offset, worded++ < WORDED_ISSUES ? explain(parsed, err.message) : err.message, view);
        return;
      }
      good++;
      ctx.stats.records++;
      if (++cols.batch.length === capacity) {
        ready.push(cols.batch);
        cols = new GcpCols(new FlowBatch(capacity));
      }
    };

    const splitter = new LineSplitter(
      onLine,
      (line, offset, length, head) =>
        issue('error', line, offset, `line of ${length} bytes exceeds the ${opts.maxLineBytes ?? 16 * 1024 * 1024}-byte limit; skipped`, head),
      opts,
    );
    for await (const chunk of input) {
      splitter.push(chunk);
      while (ready.length > 0) yield ready.shift()!;
    }
    splitter.end();
    while (ready.length > 0) yield ready.shift()!;
    if (nonBlank === 0) throw new ParseError(ctx.source, 'empty input: a GCP flow log object holds at least one LogEntry line');
    if (good === 0 && bad > 0) throw new ParseError(ctx.source, `not GCP VPC flow log NDJSON: no line is a flow LogEntry (first: ${firstBad})`);
    if (cols.batch.length > 0) yield cols.batch;
  };
}

/** The GCP parser with default limits (16 MiB per line). */
export const parseGcpJson: StreamParser = createGcpJsonParser();
