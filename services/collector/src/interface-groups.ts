import { COL, FlowBatch, type Column } from '@sightline/flow';
import { fnv1a, formatOfRow, strAt, type FormatSpec } from '@sightline/parsers';

/**
 * Splits a parsed batch by the interface that reported each flow, into a fixed number of groups.
 * Each group becomes one Kafka message keyed tenant/account/group, so all flows of an interface
 * land in one partition in the order they were read, while an account's interfaces still spread
 * over partitions (one key per account would pin a large account to a single partition).
 *
 * What the interface is, each format's spec in the parsers' registry says (AWS VPC: the ENI;
 * Transit Gateway: the attachment; Azure: the NIC's MAC; GCP: the reporting VM, else the
 * subnetwork); a record that names none falls back to its source address.
 */

const FORMAT = COL['format']!;
const SRC_ADDR = COL['src_addr']!;

/** The interface a row belongs to (see the module comment), or '' when nothing identifies it. */
export function interfaceKeys(b: FlowBatch): string[] {
  const formats = b.columns[FORMAT];
  const out = new Array<string>(b.length);
  // a batch comes from one object: its rows share a format, looked up once per change
  let lastFormat: string | null | undefined;
  let spec: FormatSpec | undefined;
  for (let r = 0; r < b.length; r++) {
    const f = formats === undefined || formats instanceof Float64Array ? null : (formats[r] ?? null);
    if (f !== lastFormat) {
      lastFormat = f;
      spec = formatOfRow(f);
    }
    out[r] = spec?.interfaceKey(b, r) ?? strAt(b, SRC_ADDR, r) ?? '';
  }
  return out;
}

/** FNV-1a: stable across processes and releases (the group of an interface must never move). */
export function groupOf(key: string, groups: number): number {
  return fnv1a(key) % groups;
}

/** The rows of `b` by group, order kept within each; groups without rows are absent. */
export function splitByInterface(b: FlowBatch, groups: number): { group: number; batch: FlowBatch }[] {
  if (groups === 1 || b.length === 0) return b.length === 0 ? [] : [{ group: 0, batch: b.length === b.capacity ? b : b.slice(0) }];
  const keys = interfaceKeys(b);
  const rowsOf: number[][] = Array.from({ length: groups }, () => []);
  const cache = new Map<string, number>();
  for (let r = 0; r < b.length; r++) {
    const k = keys[r]!;
    let g = cache.get(k);
    if (g === undefined) { g = groupOf(k, groups); cache.set(k, g); }
    rowsOf[g]!.push(r);
  }
  const out: { group: number; batch: FlowBatch }[] = [];
  for (let g = 0; g < groups; g++) {
    const rows = rowsOf[g]!;
    if (rows.length === 0) continue;
    if (rows.length === b.length) { out.push({ group: g, batch: b.slice(0) }); continue; }
    out.push({ group: g, batch: gather(b, rows) });
  }
  return out;
}

function gather(b: FlowBatch, rows: number[]): FlowBatch {
  const n = rows.length;
  const cols = b.columns.map((c): Column | undefined => {
    if (c === undefined) return undefined;
    if (c instanceof Float64Array) {
      const o = new Float64Array(n);
      for (let i = 0; i < n; i++) o[i] = c[rows[i]!]!;
      return o;
    }
    const o = new Array<string | null>(n);
    for (let i = 0; i < n; i++) o[i] = c[rows[i]!] ?? null;
    return o;
  });
  const extra = b.extra === undefined ? undefined : rows.map((r) => b.extra![r] ?? null);
  return FlowBatch.fromColumns(n, cols, extra);
}
