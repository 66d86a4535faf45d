import { z } from 'zod';
import { DEFAULT_BATCH_CAPACITY } from '@sightline/flow';
import {
  AzureWriter, cutTuple, fieldEnd, fieldStart, isObj, parseResourceId, strOrNull, tupleTimeMs, uintAt,
  type AzureRecordInfo, type Obj,
} from '../azure-shared/azure-common.js';
import { Interner, normalizedAddr } from '../../core/intern.js';
import { scanRecords, type RecordsScannerOptions } from '../azure-shared/azure-records.js';
import { parseRfc3339Ms } from '../../core/time.js';
import type { ByteSource, ParseContext, StreamParser } from '../../types.js';

/**
 * Azure NSG flow logs, versions 1 and 2 (`insights-logs-networksecuritygroupflowevent/.../PT1H.json`).
 * One output row per flow tuple, in record, rule, MAC, tuple order.
 *
 * v1 tuples (8 fields) carry no counters: packets/bytes are null. v2 tuples (13 fields) carry
 * per-direction deltas, empty on B (begin) tuples: null there, summed into packets/bytes
 * otherwise. The tuple's field count decides v1 or v2 (a record's Version only labels it).
 * Hot path: hand-written checks; `NsgRecordSchema` is the contract, used to word errors.
 */

export const NsgRecordSchema = z.object({
  time: z.string(),
  systemId: z.string().optional(),
  category: z.string().optional(),
  resourceId: z.string(),
  operationName: z.string().optional(),
  properties: z.object({
    Version: z.number().int(),
    flows: z.array(
      z.object({
        rule: z.string(),
        flows: z.array(z.object({ mac: z.string(), flowTuples: z.array(z.string()) })),
      }),
    ),
  }),
});
export type NsgRecord = z.infer<typeof NsgRecordSchema>;

/**
 * Checks the record's shape down to the tuple arrays, so that no row is written for a record that
 * is wrong halfway. Returns what is wrong as a message, not a throw: a blob may hold a million bad records.
 */
function checkShape(rec: Obj): Obj[] | string {
  if (typeof rec.time !== 'string' || typeof rec.resourceId !== 'string') return 'time and resourceId must be strings';
  const props = rec.properties;
  if (!isObj(props) || typeof props.Version !== 'number' || !Array.isArray(props.flows)) return 'properties.Version and properties.flows are required';
  for (const rf of props.flows as unknown[]) {
    if (!isObj(rf) || typeof rf.rule !== 'string' || !Array.isArray(rf.flows)) return 'each properties.flows entry needs rule and flows';
    for (const mf of rf.flows as unknown[]) {
      if (!isObj(mf) || typeof mf.mac !== 'string' || !Array.isArray(mf.flowTuples)) return 'each rule flow needs mac and flowTuples';
    }
  }
  return props.flows as Obj[];
}

const cuts = new Int32Array(12);

/** Reads one tuple into the next row; returns an error message instead when the tuple is bad. */
function writeTuple(t: string, w: AzureWriter, info: AzureRecordInfo, rule: string, mac: string, addrs: Interner): string | null {
  const nf = cutTuple(t, cuts);
  if (nf !== 8 && nf !== 13) return `expected 8 (v1) or 13 (v2) fields, found ${nf > 13 ? 'more than 13' : nf}`;
  const tsRaw = uintAt(t, 0, cuts[0]!);
  if (!(tsRaw >= 0)) return 'timestamp is not a number';
  const src = normalizedAddr(addrs, t.slice(cuts[0]! + 1, cuts[1]!));
  if (src === null) return 'invalid source address';
  const dst = normalizedAddr(addrs, t.slice(cuts[1]! + 1, cuts[2]!));
  if (dst === null) return 'invalid destination address';
  const sport = uintAt(t, cuts[2]! + 1, cuts[3]!);
  const dport = uintAt(t, cuts[3]! + 1, cuts[4]!);
  if (!(sport >= 0 && sport <= 65535 && dport >= 0 && dport <= 65535)) return 'invalid port';
  const p = cuts[4]! + 1;
  if (cuts[5]! - p !== 1) return 'protocol must be T or U';
  const pc = t.charCodeAt(p);
  const proto = pc === 84 ? 6 : pc === 85 ? 17 : -1;
  if (proto < 0) return 'protocol must be T or U';
  const d = cuts[5]! + 1;
  const dc = cuts[6]! - d === 1 ? t.charCodeAt(d) : 0;
  if (dc !== 73 && dc !== 79) return 'direction must be I or O';
  const a = cuts[6]! + 1;
  const ac = fieldEnd(t, cuts, nf, 7) - a === 1 ? t.charCodeAt(a) : 0;
  if (ac !== 65 && ac !== 68) return 'decision must be A or D';
  let state: string | null = null;
  let pSD = NaN;
  let bSD = NaN;
  let pDS = NaN;
  let bDS = NaN;
  if (nf === 13) {
    const s = cuts[7]! + 1;
    const sc = cuts[8]! - s === 1 ? t.charCodeAt(s) : 0;
    state = sc === 66 ? 'B' : sc === 67 ? 'C' : sc === 69 ? 'E' : null;
    if (state === null) return 'flow state must be B, C or E';
    pSD = uintAt(t, fieldStart(cuts, 9), cuts[9]!);
    bSD = uintAt(t, fieldStart(cuts, 10), cuts[10]!);
    pDS = uintAt(t, fieldStart(cuts, 11), cuts[11]!);
    bDS = uintAt(t, fieldStart(cuts, 12), t.length);
    if (pSD < 0 || bSD < 0 || pDS < 0 || bDS < 0) return 'counters must be empty or unsigned integers';
  }
  const row = w.begin(info, rule, mac, null);
  const c = w.cols;
  c.format[row] = nf === 8 ? 'azure-nsg-v1' : 'azure-nsg-v2';
  c.srcAddr[row] = src;
  c.dstAddr[row] = dst;
  c.srcPort[row] = sport;
  c.dstPort[row] = dport;
  c.protocol[row] = proto;
  const ts = tupleTimeMs(tsRaw);
  c.start[row] = ts;
  c.end[row] = ts;
  c.direction[row] = dc === 73 ? 'ingress' : 'egress';
  c.action[row] = ac === 65 ? 'accept' : 'reject';
  c.flowState[row] = state;
  c.pktsSD[row] = pSD;
  c.bytesSD[row] = bSD;
  c.pktsDS[row] = pDS;
  c.bytesDS[row] = bDS;
  c.packets[row] = Number.isNaN(pSD) && Number.isNaN(pDS) ? NaN : (pSD || 0) + (pDS || 0);
  c.bytes[row] = Number.isNaN(bSD) && Number.isNaN(bDS) ? NaN : (bSD || 0) + (bDS || 0);
  w.commit();
  return null;
}

function handleRecord(rec: unknown, offset: number, raw: Uint8Array, w: AzureWriter, addrs: Interner): void {
  if (!isObj(rec)) {
    w.error(offset, `record at byte ${offset} is not a JSON object: skipped`, raw);
    return;
  }
  // a records array nested as an element (one reading of the malformed v1 sample): read its records
  if (rec.properties === undefined && Array.isArray(rec.records)) {
    for (const inner of rec.records as unknown[]) handleRecord(inner, offset, raw, w, addrs);
    return;
  }
  if (rec.category === 'FlowLogFlowEvent' || rec.flowRecords !== undefined) {
    w.error(offset, `record at byte ${offset} is a VNet flow log record (category FlowLogFlowEvent): read this blob with the azure-vnet parser`, raw);
    return;
  }
  const ruleFlows = checkShape(rec);
  const recordTime = typeof ruleFlows === 'string' ? NaN : parseRfc3339Ms(rec.time as string);
  if (typeof ruleFlows === 'string' || Number.isNaN(recordTime)) {
    const why = typeof ruleFlows === 'string' ? ruleFlows : 'time: not an RFC 3339 time';
    w.error(offset, `NSG record at byte ${offset}: ${w.explain(NsgRecordSchema, rec, why)}: skipped`, raw);
    return;
  }
  const resourceId = rec.resourceId as string;
  const { subscriptionId, resourceGroup } = parseResourceId(resourceId);
  const info: AzureRecordInfo = {
    format: '',
    account: subscriptionId,
    subscriptionId,
    resourceGroup,
    resourceId,
    flowLogResourceId: null,
    flowLogGuid: null,
    systemId: strOrNull(rec.systemId) ?? null,
    category: strOrNull(rec.category) ?? null,
    version: (rec.properties as Obj).Version as number,
    recordTime,
  };
  for (const rf of ruleFlows) {
    const rule = rf.rule as string;
    for (const mf of rf.flows as Obj[]) {
      const mac = mf.mac as string;
      const tuples = mf.flowTuples as unknown[];
      for (let k = 0; k < tuples.length; k++) {
        const t = tuples[k];
        const why = typeof t === 'string' ? writeTuple(t, w, info, rule, mac, addrs) : 'tuple is not a string';
        if (why !== null) {
          const text = typeof t === 'string' ? t : JSON.stringify(t) ?? String(t);
          w.error(offset, `NSG record at byte ${offset}, rule ${rule}, mac ${mac}, tuple ${k}: ${why}: ${JSON.stringify(text.slice(0, 200))}`, text);
        }
      }
    }
  }
}

export function createAzureNsgParser(opts: RecordsScannerOptions = {}): StreamParser {
  return async function* parseAzureNsg(input: ByteSource, ctx: ParseContext) {
    const w = new AzureWriter(ctx, ctx.batchCapacity ?? DEFAULT_BATCH_CAPACITY);
    const addrs = new Interner(8192);
    yield* scanRecords(input, ctx, (rec, offset, raw) => handleRecord(rec, offset, raw, w, addrs), () => w.drain(), opts);
    for (const b of w.drain(true)) yield b;
  };
}

/** NSG flow log v1/v2 parser with default limits (16 MiB per record). */
export const parseAzureNsg: StreamParser = createAzureNsgParser();
