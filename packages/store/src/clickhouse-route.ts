import { CLOUDS, colIndex, FlowBatch, type Cloud, type Column } from '@sightline/flow';
import type { RowBinaryItem } from './clickhouse-rowbinary.js';
import { cloudFlowTable, STORED_FIELDS, WIDE_FLOW_TABLE } from './schema.js';

/**
 * Layout (b) (ClickHouse migration 9): which raw table each batch's rows are inserted into. A batch
 * is one cloud's in Sightline's pipeline, so it goes whole to `flows_<cloud>` (the fast path: one
 * pass over the `cloud` column). Rows of several clouds in one batch are split by cloud, each part
 * keeping its rows' `row_no`; a row whose cloud is none of CLOUDS, or a part that fills a column its
 * cloud's table lacks (a field the frozen lists do not give that cloud), goes to `flows_wide`, which
 * has every column and the same rollup and landed views: no row is dropped and the rollups stay exact.
 */

const CLOUD_COL = colIndex('cloud');

export interface RoutedPart {
  readonly table: string;
  readonly item: RowBinaryItem;
  /** every row of the batch is in this part (the batch's own dedup token applies) */
  readonly whole: boolean;
}

/**
 * `tables`: column types by table (system.columns). Without the cloud tables (a store before migration 9)
 * everything goes to `flows`, as before.
 */
export function routeRows(items: readonly RowBinaryItem[], tables: ReadonlyMap<string, ReadonlyMap<string, string>>): RoutedPart[] {
  if (!tables.has(cloudFlowTable('aws'))) return items.map((item) => ({ table: 'flows', item, whole: true }));
  const out: RoutedPart[] = [];
  for (const item of items) {
    const { batch } = item;
    const clouds = batch.columns[CLOUD_COL] as (string | null)[] | undefined;
    const first = clouds?.[0];
    let one = clouds !== undefined && isCloud(first);
    for (let r = 1; one && r < batch.length; r++) if (clouds![r] !== first) one = false;
    if (one) {
      const table = cloudFlowTable(first as Cloud);
      const odd = misfits(batch, tables.get(table)!);
      if (odd === undefined) {
        out.push({ table, item, whole: true });
        continue;
      }
    }
    // rows of several clouds, rows without one, or rows filling a column their cloud's table lacks:
    // a part per table, rows in batch order
    const byTable = new Map<string, number[]>();
    const odd = new Map<string, Set<number> | undefined>();
    for (let r = 0; r < batch.length; r++) {
      const c = clouds?.[r];
      let t: string = WIDE_FLOW_TABLE;
      if (isCloud(c)) {
        const ct = cloudFlowTable(c);
        if (!odd.has(ct)) odd.set(ct, misfits(batch, tables.get(ct)!));
        if (!odd.get(ct)?.has(r)) t = ct;
      }
      let rs = byTable.get(t);
      if (rs === undefined) byTable.set(t, (rs = []));
      rs.push(r);
    }
    for (const [table, rows] of byTable) {
      const whole = rows.length === batch.length;
      out.push({ table, item: whole ? item : pick(item, rows), whole });
    }
  }
  return out;
}

/**
 * The insert's dedup token (22.2+): the batch id when the part is the whole batch (as before layout
 * (b)); a part of a split batch adds its table, so each part is its own repeat to drop. Deterministic:
 * a retried batch is split the same way.
 */
export function insertToken(p: RoutedPart): string {
  return p.whole ? p.item.meta.id : `${p.item.meta.id}/${p.table}`;
}

function isCloud(v: string | null | undefined): v is Cloud {
  return typeof v === 'string' && (CLOUDS as readonly string[]).includes(v);
}

/** The rows that fill a field the table lacks (only allocated columns the table lacks are scanned); undefined when none. */
function misfits(batch: FlowBatch, types: ReadonlyMap<string, string>): Set<number> | undefined {
  let out: Set<number> | undefined;
  for (const f of STORED_FIELDS) {
    if (types.has(f.spec.name)) continue;
    const c = batch.columns[f.col];
    if (c === undefined) continue;
    for (let r = 0; r < batch.length; r++) {
      const v = c[r];
      if (v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v))) (out ??= new Set()).add(r);
    }
  }
  return out;
}

/** Rows `rows` of the item as an item of their own, each keeping its row_no in the batch. */
function pick(item: RowBinaryItem, rows: readonly number[]): RowBinaryItem {
  const { batch, secs } = item;
  const n = rows.length;
  const cols = batch.columns.map((c): Column | undefined => {
    if (c === undefined) return undefined;
    if (c instanceof Float64Array) {
      const out = new Float64Array(Math.max(n, 1)).fill(NaN);
      for (let k = 0; k < n; k++) out[k] = c[rows[k]!]!;
      return out;
    }
    return rows.map((r) => c[r] ?? null);
  });
  const extra = batch.extra === undefined ? undefined : rows.map((r) => batch.extra![r] ?? null);
  const picked = FlowBatch.fromColumns(n, cols, extra);
  const base = item.rowNo;
  return {
    meta: item.meta,
    batch: picked,
    secs: Float64Array.from(rows, (r) => secs[r]!),
    rowNo: Uint32Array.from(rows, (r) => (base ? base[r]! : r)),
  };
}
