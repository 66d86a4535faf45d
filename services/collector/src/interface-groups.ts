import { COL, FlowBatch, type Column } from '@sightline/flow';

/**
 * Splits a parsed batch by the interface that reported each flow, into a fixed number of groups.
 * Each group becomes one Kafka message keyed tenant/account/group, so all flows of an interface
 * land in one partition in the order they were read, while an account's interfaces still spread
 * over partitions (one key per account would pin a large account to a single partition).
 *
 * The interface is what each cloud reports per: AWS interface_id (ENI), Azure the NIC's mac,
 * GCP the reporting VM (src or dest instance depending on `reporter`), falling back to the
 * subnetwork and then the source address when a record has none of them.
 */

const C = {
  interface_id: COL['interface_id']!,
  mac: COL['mac']!,
  reporter: COL['reporter']!,
  src_vm: COL['src_instance_vm_name']!,
  dest_vm: COL['dest_instance_vm_name']!,
  subnetwork_id: COL['subnetwork_id']!,
  src_addr: COL['src_addr']!,
};

type Strings = (string | null)[];

function str(b: FlowBatch, i: number): Strings | undefined {
  const c = b.columns[i];
  return c === undefined || c instanceof Float64Array ? undefined : c;
}

/** The interface a row belongs to (see the module comment), or '' when nothing identifies it. */
export function interfaceKeys(b: FlowBatch): string[] {
  const eni = str(b, C.interface_id);
  const mac = str(b, C.mac);
  const reporter = str(b, C.reporter);
  const srcVm = str(b, C.src_vm);
  const destVm = str(b, C.dest_vm);
  const subnet = str(b, C.subnetwork_id);
  const src = str(b, C.src_addr);
  const out = new Array<string>(b.length);
  for (let r = 0; r < b.length; r++) {
    let k = eni?.[r] ?? mac?.[r] ?? null;
    if (k === null && reporter !== undefined) {
      const rep = reporter[r];
      k = (rep === 'SRC' || rep === 'SRC_GATEWAY' ? srcVm?.[r] : rep === 'DEST' || rep === 'DEST_GATEWAY' ? destVm?.[r] : null) ?? null;
    }
    out[r] = k ?? subnet?.[r] ?? src?.[r] ?? '';
  }
  return out;
}

/** FNV-1a: stable across processes and releases (the group of an interface must never move). */
export function groupOf(key: string, groups: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % groups;
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
