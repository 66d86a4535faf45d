import { z } from 'zod';
import { DEFAULT_BATCH_CAPACITY } from '@sightline/flow';
import {
  AzureWriter, cutTuple, fieldStart, isObj, parseResourceId, strOrNull, tupleTimeMs, uintAt,
  type AzureRecordInfo, type Obj,
} from '../azure-shared/azure-common.js';
import { Interner, normalizedAddr } from '../../core/intern.js';
import { scanRecords, type RecordsScannerOptions } from '../azure-shared/azure-records.js';
import { VnetFastReader, type VnetStaged } from './azure-vnet-fast.js';
import { parseRfc3339Ms } from '../../core/time.js';
import type { ByteSource, ParseContext, StreamParser } from '../../types.js';

/**
 * Azure VNet flow logs (`insights-logs-flowlogflowevent/.../PT1H.json`). One row per flow
 * tuple, in record, ACL, rule, tuple order.
 *
 * Tuple: ts, src, dst, sport, dport, IANA protocol, I|O, B|C|E|D, encryption, then packets and
 * bytes src->dst and dst->src. State D is the only deny signal (action reject); B, C and E are
 * accepted flows. Counters are deltas; empty ones (`,,,,` in the bandwidth example) are null,
 * the samples' `0,0,0,0` on B tuples are zeros. account/subscription come from
 * targetResourceID, else from flowLogResourceID.
 */

export const VnetRecordSchema = z.object({
  time: z.string(),
  flowLogVersion: z.number().int().optional(),
  flowLogGUID: z.string().optional(),
  macAddress: z.string().optional(),
  category: z.string().optional(),
  flowLogResourceID: z.string().optional(),
  targetResourceID: z.string().optional(),
  operationName: z.string().optional(),
  flowRecords: z.object({
    flows: z.array(
      z.object({
        aclID: z.string().optional(),
        flowGroups: z.array(z.object({ rule: z.string().optional(), flowTuples: z.array(z.string()) })),
      }),
    ),
  }),
});
export type VnetRecord = z.infer<typeof VnetRecordSchema>;

/** The record's flows, or what is wrong with its shape (a message, not a throw: a blob may hold a million bad records). */
function checkShape(rec: Obj): Obj[] | string {
  if (typeof rec.time !== 'string') return 'time must be a string';
  for (const k of ['flowLogGUID', 'macAddress', 'category', 'flowLogResourceID', 'targetResourceID'] as const) {
    if (strOrNull(rec[k]) === undefined) return `${k} must be a string`;
  }
  if (rec.flowLogVersion !== undefined && typeof rec.flowLogVersion !== 'number') return 'flowLogVersion must be a number';
  const fr = rec.flowRecords;
  if (!isObj(fr) || !Array.isArray(fr.flows)) return 'flowRecords.flows is required';
  for (const f of fr.flows as unknown[]) {
    if (!isObj(f) || strOrNull(f.aclID) === undefined || !Array.isArray(f.flowGroups)) return 'each flowRecords.flows entry needs flowGroups';
    for (const g of f.flowGroups as unknown[]) {
      if (!isObj(g) || strOrNull(g.rule) === undefined || !Array.isArray(g.flowTuples)) return 'each flow group needs rule and flowTuples';
    }
  }
  return fr.flows as Obj[];
}

const cuts = new Int32Array(12);

function writeTuple(t: string, w: AzureWriter, info: AzureRecordInfo, rule: string | null, mac: string | null, acl: string | null, addrs: Interner): string | null {
  const nf = cutTuple(t, cuts);
  if (nf !== 13) return `expected 13 fields, found ${nf > 13 ? 'more than 13' : nf}`;
  const tsRaw = uintAt(t, 0, cuts[0]!);
  if (!(tsRaw >= 0)) return 'timestamp is not a number';
  const src = normalizedAddr(addrs, t.slice(cuts[0]! + 1, cuts[1]!));
  if (src === null) return 'invalid source address';
  const dst = normalizedAddr(addrs, t.slice(cuts[1]! + 1, cuts[2]!));
  if (dst === null) return 'invalid destination address';
  const sport = uintAt(t, cuts[2]! + 1, cuts[3]!);
  const dport = uintAt(t, cuts[3]! + 1, cuts[4]!);
  if (!(sport >= 0 && sport <= 65535 && dport >= 0 && dport <= 65535)) return 'invalid port';
  const proto = uintAt(t, cuts[4]! + 1, cuts[5]!);
  if (!(proto >= 0 && proto <= 255)) return 'protocol must be an IANA number';
  const d = cuts[5]! + 1;
  const dc = cuts[6]! - d === 1 ? t.charCodeAt(d) : 0;
  if (dc !== 73 && dc !== 79) return 'direction must be I or O';
  const s = cuts[6]! + 1;
  const sc = cuts[7]! - s === 1 ? t.charCodeAt(s) : 0;
  const state = sc === 66 ? 'B' : sc === 67 ? 'C' : sc === 69 ? 'E' : sc === 68 ? 'D' : null;
  if (state === null) return 'flow state must be B, C, E or D';
  const e = cuts[7]! + 1;
  if (cuts[8]! === e) return 'encryption is empty';
  const pSD = uintAt(t, fieldStart(cuts, 9), cuts[9]!);
  const bSD = uintAt(t, fieldStart(cuts, 10), cuts[10]!);
  const pDS = uintAt(t, fieldStart(cuts, 11), cuts[11]!);
  const bDS = uintAt(t, fieldStart(cuts, 12), t.length);
  if (pSD < 0 || bSD < 0 || pDS < 0 || bDS < 0) return 'counters must be empty or unsigned integers';

  const row = w.begin(info, rule, mac, acl);
  const c = w.cols;
  c.srcAddr[row] = src;
  c.dstAddr[row] = dst;
  c.srcPort[row] = sport;
  c.dstPort[row] = dport;
  c.protocol[row] = proto;
  const ts = tupleTimeMs(tsRaw);
  c.start[row] = ts;
  c.end[row] = ts;
  c.direction[row] = dc === 73 ? 'ingress' : 'egress';
  c.action[row] = state === 'D' ? 'reject' : 'accept';
  c.flowState[row] = state;
  c.encryption[row] = encryption(t, e, cuts[8]!);
  c.pktsSD[row] = pSD;
  c.bytesSD[row] = bSD;
  c.pktsDS[row] = pDS;
  c.bytesDS[row] = bDS;
  c.packets[row] = Number.isNaN(pSD) && Number.isNaN(pDS) ? NaN : (pSD || 0) + (pDS || 0);
  c.bytes[row] = Number.isNaN(bSD) && Number.isNaN(bDS) ? NaN : (bSD || 0) + (bDS || 0);
  w.commit();
  return null;
}

/** The two common values share one string instead of a new slice per tuple. */
function encryption(t: string, from: number, to: number): string {
  if (to - from === 1 && t.charCodeAt(from) === 88) return 'X';
  if (to - from === 2 && t.charCodeAt(from) === 78 && t.charCodeAt(from + 1) === 88) return 'NX';
  return t.slice(from, to);
}

function handleRecord(rec: unknown, offset: number, raw: Uint8Array, w: AzureWriter, addrs: Interner): void {
  if (!isObj(rec)) {
    w.error(offset, `record at byte ${offset} is not a JSON object: skipped`, raw);
    return;
  }
  if (rec.category === 'NetworkSecurityGroupFlowEvent' || (rec.properties !== undefined && rec.flowRecords === undefined)) {
    w.error(offset, `record at byte ${offset} is an NSG flow log record: read this blob with the azure-nsg parser`, raw);
    return;
  }
  const flows = checkShape(rec);
  const recordTime = typeof flows === 'string' ? NaN : parseRfc3339Ms(rec.time as string);
  if (typeof flows === 'string' || Number.isNaN(recordTime)) {
    const why = typeof flows === 'string' ? flows : 'time: not an RFC 3339 time';
    w.error(offset, `VNet record at byte ${offset}: ${w.explain(VnetRecordSchema, rec, why)}: skipped`, raw);
    return;
  }
  const target = strOrNull(rec.targetResourceID) ?? null;
  const flowLogId = strOrNull(rec.flowLogResourceID) ?? null;
  let ids = parseResourceId(target);
  if (ids.subscriptionId === null) ids = { subscriptionId: parseResourceId(flowLogId).subscriptionId, resourceGroup: ids.resourceGroup };
  const info: AzureRecordInfo = {
    format: 'azure-vnet',
    account: ids.subscriptionId,
    subscriptionId: ids.subscriptionId,
    resourceGroup: ids.resourceGroup,
    resourceId: target,
    flowLogResourceId: flowLogId,
    flowLogGuid: strOrNull(rec.flowLogGUID) ?? null,
    systemId: null,
    category: strOrNull(rec.category) ?? null,
    version: typeof rec.flowLogVersion === 'number' ? rec.flowLogVersion : NaN,
    recordTime,
  };
  const mac = strOrNull(rec.macAddress) ?? null;
  for (const f of flows) {
    const acl = strOrNull(f.aclID) ?? null;
    for (const g of f.flowGroups as Obj[]) {
      const rule = strOrNull(g.rule) ?? null;
      const tuples = g.flowTuples as unknown[];
      for (let k = 0; k < tuples.length; k++) {
        const t = tuples[k];
        const why = typeof t === 'string' ? writeTuple(t, w, info, rule, mac, acl, addrs) : 'tuple is not a string';
        if (why !== null) {
          const text = typeof t === 'string' ? t : JSON.stringify(t) ?? String(t);
          w.error(offset, `VNet record at byte ${offset}, acl ${acl}, rule ${rule}, tuple ${k}: ${why}: ${JSON.stringify(text.slice(0, 200))}`, text);
        }
      }
    }
  }
}

/** The ids of the last record: the fast reader interns its strings, so a repeat is one comparison. */
interface IdsMemo {
  target: string | null | undefined;
  flowLogId: string | null | undefined;
  ids: { subscriptionId: string | null; resourceGroup: string | null };
}

/** Writes a record the fast reader staged: the same rows, in the same order, as handleRecord. */
function writeStaged(o: VnetStaged, bytes: Uint8Array, offset: number, w: AzureWriter, addrs: Interner, memo: IdsMemo): void {
  const target = o.target;
  const flowLogId = o.flowLogId;
  if (target !== memo.target || flowLogId !== memo.flowLogId) {
    let ids = parseResourceId(target);
    if (ids.subscriptionId === null) ids = { subscriptionId: parseResourceId(flowLogId).subscriptionId, resourceGroup: ids.resourceGroup };
    memo.target = target;
    memo.flowLogId = flowLogId;
    memo.ids = ids;
  }
  const ids = memo.ids;
  const info: AzureRecordInfo = {
    format: 'azure-vnet',
    account: ids.subscriptionId,
    subscriptionId: ids.subscriptionId,
    resourceGroup: ids.resourceGroup,
    resourceId: target,
    flowLogResourceId: flowLogId,
    flowLogGuid: o.guid,
    systemId: null,
    category: o.category,
    version: o.version,
    recordTime: parseRfc3339Ms(o.time),
  };
  const mac = o.mac;
  const stats = w.ctx.stats;
  const cap = w.capacity;
  let t = 0;
  for (let g = 0; g < o.groups; g++) {
    const acl = o.groupAcl[g] ?? null;
    const rule = o.groupRule[g] ?? null;
    const first = t;
    const end = o.groupEnd[g]!;
    let c = w.cols;
    // rows of this group in the current batch whose record-level cells are still to be filled
    let run = c.batch.length;
    for (; t < end; t++) {
      if (o.slow[t] === 1) {
        w.fill(info, rule, mac, acl, run, c.batch.length);
        const text = Buffer.from(bytes.buffer, bytes.byteOffset + o.start[t]!, o.end[t]! - o.start[t]!).toString('utf8');
        const why = writeTuple(text, w, info, rule, mac, acl, addrs);
        if (why !== null) w.error(offset, `VNet record at byte ${offset}, acl ${acl}, rule ${rule}, tuple ${t - first}: ${why}: ${JSON.stringify(text.slice(0, 200))}`, text);
        c = w.cols;
        run = c.batch.length;
        continue;
      }
      const row = c.batch.length;
      c.srcAddr[row] = o.src[t]!;
      c.dstAddr[row] = o.dst[t]!;
      c.srcPort[row] = o.sport[t]!;
      c.dstPort[row] = o.dport[t]!;
      c.protocol[row] = o.proto[t]!;
      const ts = o.ts[t]!;
      c.start[row] = ts;
      c.end[row] = ts;
      c.direction[row] = o.dir[t] === 73 ? 'ingress' : 'egress';
      const st = o.state[t];
      c.action[row] = st === 68 ? 'reject' : 'accept';
      c.flowState[row] = st === 66 ? 'B' : st === 67 ? 'C' : st === 69 ? 'E' : 'D';
      c.encryption[row] = o.enc[t] === 1 ? 'X' : 'NX';
      const pSD = o.pSD[t]!;
      const bSD = o.bSD[t]!;
      const pDS = o.pDS[t]!;
      const bDS = o.bDS[t]!;
      c.pktsSD[row] = pSD;
      c.bytesSD[row] = bSD;
      c.pktsDS[row] = pDS;
      c.bytesDS[row] = bDS;
      c.packets[row] = Number.isNaN(pSD) && Number.isNaN(pDS) ? NaN : (pSD || 0) + (pDS || 0);
      c.bytes[row] = Number.isNaN(bSD) && Number.isNaN(bDS) ? NaN : (bSD || 0) + (bDS || 0);
      stats.records++;
      if (++c.batch.length === cap) {
        w.fill(info, rule, mac, acl, run, cap);
        w.rotate();
        c = w.cols;
        run = 0;
      }
    }
    w.fill(info, rule, mac, acl, run, c.batch.length);
  }
}

export interface AzureVnetOptions extends RecordsScannerOptions {
  /** read records with the byte-level fast path when they have the usual shape (default true; false for comparison) */
  fastPath?: boolean;
}

export function createAzureVnetParser(opts: AzureVnetOptions = {}): StreamParser {
  return async function* parseAzureVnet(input: ByteSource, ctx: ParseContext) {
    const w = new AzureWriter(ctx, ctx.batchCapacity ?? DEFAULT_BATCH_CAPACITY);
    const addrs = new Interner(8192);
    const fast = opts.fastPath === false ? null : new VnetFastReader();
    const memo: IdsMemo = { target: undefined, flowLogId: undefined, ids: { subscriptionId: null, resourceGroup: null } };
    yield* scanRecords(
      input,
      ctx,
      (rec, offset, raw) => handleRecord(rec, offset, raw, w, addrs),
      () => w.drain(),
      opts,
      (bytes, offset) => {
        if (fast === null || !fast.read(bytes)) return false;
        writeStaged(fast.out, bytes, offset, w, addrs, memo);
        return true;
      },
    );
    for (const b of w.drain(true)) yield b;
  };
}

/** VNet flow log parser with default limits (16 MiB per record). */
export const parseAzureVnet: StreamParser = createAzureVnetParser();
