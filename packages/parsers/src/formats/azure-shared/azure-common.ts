import { colIndex, FlowBatch, normalizeIp, type StringColumn } from '@sightline/flow';
import { clearRow } from '../../core/rows.js';
import { MAX_RAW_KEPT, WORDED_ISSUES, type ParseContext } from '../../types.js';

/**
 * What the Azure NSG and VNet parsers share: the columns they fill, batch rotation, resource
 * id parsing and the byte-cheap tuple reading (flowTuples are comma-separated strings; they are
 * cut by index, not split, so a tuple costs no array and only the strings that are kept).
 */

export class AzureCols {
  readonly cloud: StringColumn;
  readonly format: StringColumn;
  readonly account: StringColumn;
  readonly srcAddr: StringColumn;
  readonly dstAddr: StringColumn;
  readonly srcPort: Float64Array;
  readonly dstPort: Float64Array;
  readonly protocol: Float64Array;
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly pktsSD: Float64Array;
  readonly bytesSD: Float64Array;
  readonly pktsDS: Float64Array;
  readonly bytesDS: Float64Array;
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly action: StringColumn;
  readonly direction: StringColumn;
  readonly subscriptionId: StringColumn;
  readonly resourceGroup: StringColumn;
  readonly resourceId: StringColumn;
  readonly flowLogResourceId: StringColumn;
  readonly flowLogGuid: StringColumn;
  readonly systemId: StringColumn;
  readonly category: StringColumn;
  readonly flowLogVersion: Float64Array;
  readonly recordTime: Float64Array;
  readonly aclId: StringColumn;
  readonly rule: StringColumn;
  readonly mac: StringColumn;
  readonly flowState: StringColumn;
  readonly encryption: StringColumn;
  constructor(readonly batch: FlowBatch) {
    const s = (name: string) => batch.strings(colIndex(name));
    const n = (name: string) => batch.numbers(colIndex(name));
    this.cloud = s('cloud');
    this.format = s('format');
    this.account = s('account');
    this.srcAddr = s('src_addr');
    this.dstAddr = s('dst_addr');
    this.srcPort = n('src_port');
    this.dstPort = n('dst_port');
    this.protocol = n('protocol');
    this.packets = n('packets');
    this.bytes = n('bytes');
    this.pktsSD = n('packets_src_to_dst');
    this.bytesSD = n('bytes_src_to_dst');
    this.pktsDS = n('packets_dst_to_src');
    this.bytesDS = n('bytes_dst_to_src');
    this.start = n('start');
    this.end = n('end');
    this.action = s('action');
    this.direction = s('direction');
    this.subscriptionId = s('subscription_id');
    this.resourceGroup = s('resource_group');
    this.resourceId = s('resource_id');
    this.flowLogResourceId = s('flow_log_resource_id');
    this.flowLogGuid = s('flow_log_guid');
    this.systemId = s('system_id');
    this.category = s('category');
    this.flowLogVersion = n('flow_log_version');
    this.recordTime = n('record_time');
    this.aclId = s('acl_id');
    this.rule = s('rule');
    this.mac = s('mac');
    this.flowState = s('flow_state');
    this.encryption = s('encryption');
  }
}

/** Record-level values shared by every row of one record. */
export interface AzureRecordInfo {
  format: string;
  account: string | null;
  subscriptionId: string | null;
  resourceGroup: string | null;
  resourceId: string | null;
  flowLogResourceId: string | null;
  flowLogGuid: string | null;
  systemId: string | null;
  category: string | null;
  version: number;
  recordTime: number;
}

/** Fills rows into batches of `capacity`, handing full ones to `ready`. */
export class AzureWriter {
  cols: AzureCols;
  private ready: FlowBatch[] = [];
  /** bad records worded with the zod schema so far */
  private worded = 0;
  constructor(
    readonly ctx: ParseContext,
    readonly capacity: number,
  ) {
    this.cols = new AzureCols(new FlowBatch(capacity));
  }

  /** Writes the record-level cells of the next row and returns its index. */
  begin(r: AzureRecordInfo, rule: string | null, mac: string | null, aclId: string | null): number {
    const c = this.cols;
    const row = c.batch.length;
    c.cloud[row] = 'azure';
    c.format[row] = r.format;
    c.account[row] = r.account;
    c.subscriptionId[row] = r.subscriptionId;
    c.resourceGroup[row] = r.resourceGroup;
    c.resourceId[row] = r.resourceId;
    c.flowLogResourceId[row] = r.flowLogResourceId;
    c.flowLogGuid[row] = r.flowLogGuid;
    c.systemId[row] = r.systemId;
    c.category[row] = r.category;
    c.flowLogVersion[row] = r.version;
    c.recordTime[row] = r.recordTime;
    c.rule[row] = rule;
    c.mac[row] = mac;
    c.aclId[row] = aclId;
    return row;
  }

  /** The record-level cells of rows [from, to), as begin() writes them one row at a time. */
  fill(r: AzureRecordInfo, rule: string | null, mac: string | null, aclId: string | null, from: number, to: number): void {
    if (to <= from) return;
    const c = this.cols;
    c.cloud.fill('azure', from, to);
    c.format.fill(r.format, from, to);
    c.account.fill(r.account, from, to);
    c.subscriptionId.fill(r.subscriptionId, from, to);
    c.resourceGroup.fill(r.resourceGroup, from, to);
    c.resourceId.fill(r.resourceId, from, to);
    c.flowLogResourceId.fill(r.flowLogResourceId, from, to);
    c.flowLogGuid.fill(r.flowLogGuid, from, to);
    c.systemId.fill(r.systemId, from, to);
    c.category.fill(r.category, from, to);
    c.flowLogVersion.fill(r.version, from, to);
    c.recordTime.fill(r.recordTime, from, to);
    c.rule.fill(rule, from, to);
    c.mac.fill(mac, from, to);
    c.aclId.fill(aclId, from, to);
  }

  commit(): void {
    this.ctx.stats.records++;
    if (++this.cols.batch.length === this.capacity) this.rotate();
  }

  /** Hands the full batch over and starts the next one. */
  rotate(): void {
    this.ready.push(this.cols.batch);
    this.cols = new AzureCols(new FlowBatch(this.capacity));
  }

  rollback(row: number): void {
    clearRow(this.cols.batch, row);
  }

  /** Full batches since the last call, and at the end (`final`) the partial one. */
  drain(final = false): FlowBatch[] {
    const out = this.ready;
    this.ready = [];
    if (final && this.cols.batch.length > 0) {
      out.push(this.cols.batch);
      this.cols = new AzureCols(new FlowBatch(this.capacity));
    }
    return out;
  }

  /** The zod `path: message` of a record the hand checks rejected, for the first WORDED_ISSUES; then `fallback`. */
  explain(schema: { safeParse(v: unknown): ZodResult }, rec: unknown, fallback: string): string {
    if (this.worded >= WORDED_ISSUES) return fallback;
    this.worded++;
    return zodWhere(schema.safeParse(rec), fallback);
  }

  error(offset: number, message: string, raw: Uint8Array | string): void {
    this.ctx.stats.errors++;
    const bytes = typeof raw === 'string' ? Buffer.from(raw.length > MAX_RAW_KEPT ? raw.slice(0, MAX_RAW_KEPT) : raw, 'utf8') : raw.slice(0, MAX_RAW_KEPT);
    this.ctx.onIssue({ kind: 'error', source: this.ctx.source, offset, message, raw: bytes });
  }
}

/**
 * Subscription (lower case) and resource group of an ARM id such as
 * `/SUBSCRIPTIONS/00000000-.../RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/...`. Segment names are
 * matched without regard to case, as ARM does; the group keeps the case it was written in.
 */
export function parseResourceId(id: string | null): { subscriptionId: string | null; resourceGroup: string | null } {
  if (!id) return { subscriptionId: null, resourceGroup: null };
  const parts = id.split('/');
  let subscriptionId: string | null = null;
  let resourceGroup: string | null = null;
  for (let i = 0; i + 1 < parts.length; i++) {
    const p = parts[i]!.toLowerCase();
    if (p === 'subscriptions' && subscriptionId === null && parts[i + 1]) subscriptionId = parts[i + 1]!.toLowerCase();
    else if (p === 'resourcegroups' && resourceGroup === null && parts[i + 1]) resourceGroup = parts[i + 1]!;
  }
  return { subscriptionId, resourceGroup };
}

/** Positions of the commas of `s` into `cuts`; returns the number of fields (commas + 1), at most cuts.length + 1. */
export function cutTuple(s: string, cuts: Int32Array): number {
  let k = 0;
  let from = 0;
  for (;;) {
    const c = s.indexOf(',', from);
    if (c === -1 || k === cuts.length) break;
    cuts[k++] = c;
    from = c + 1;
  }
  return s.indexOf(',', from) === -1 ? k + 1 : cuts.length + 2;
}

export const fieldStart = (cuts: Int32Array, k: number): number => (k === 0 ? 0 : cuts[k - 1]! + 1);
export const fieldEnd = (s: string, cuts: Int32Array, nFields: number, k: number): number => (k === nFields - 1 ? s.length : cuts[k]!);

/** Unsigned decimal in s[from, to): NaN when empty, -1 when not a number. */
export function uintAt(s: string, from: number, to: number): number {
  if (from >= to) return NaN;
  if (to - from > 16) return -1;
  let x = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

export { tupleTimeMs } from '../../core/time.js';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const strOrNull = (v: unknown): string | null | undefined => (typeof v === 'string' ? v : v === undefined || v === null ? null : undefined);

type ZodResult = { success: boolean; error?: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };

/** First zod issue as `path: message`, for a record the hand checks rejected. */
export function zodWhere(result: ZodResult, fallback: string): string {
  if (result.success || !result.error) return fallback;
  const first = result.error.issues[0];
  if (!first) return fallback;
  return `${first.path.map(String).join('.') || '(root)'}: ${first.message}`;
}
