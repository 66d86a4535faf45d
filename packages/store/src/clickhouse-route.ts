import { CLOUDS } from '@sightline/flow';
import type { RowBinaryItem } from './clickhouse-rowbinary.js';
import { routeBatch, tableFields } from './route.js';
import { cloudFlowTable, WIDE_FLOW_TABLE } from './schema.js';

/**
 * Layout (b) (ClickHouse migration 9): the raw table each batch's rows are inserted into, by route.ts's
 * rule (the same as DuckDB's). A batch of one cloud goes whole to `flows_<cloud>`; a split batch's
 * parts keep their rows' `row_no`. `flows_wide` has the same rollup and landed views as the cloud
 * tables, so the rollups stay exact wherever a row goes.
 */

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
  const names = [...CLOUDS.map(cloudFlowTable), WIDE_FLOW_TABLE];
  const fields = names.map((t) => tableFields(tables.get(t)?.keys() ?? []));
  const wide = fields.pop()!;
  return items.flatMap((item) =>
    routeBatch(item.batch, fields, wide, `clickhouse batch ${item.meta.id}`).map(({ table, rows }) => ({
      table: names[table]!,
      item: rows === undefined ? item : pick(item, rows),
      whole: rows === undefined,
    })),
  );
}

/**
 * The insert's dedup token (22.2+): the batch id when the part is the whole batch (as before layout
 * (b)); a part of a split batch adds its table, so each part is its own repeat to drop. Deterministic:
 * a retried batch is split the same way.
 */
export function insertToken(p: RoutedPart): string {
  return p.whole ? p.item.meta.id : `${p.item.meta.id}/${p.table}`;
}

/** Rows `rows` of the item as an item of their own, each keeping its row_no in the batch. */
function pick(item: RowBinaryItem, rows: Int32Array): RowBinaryItem {
  const base = item.rowNo;
  return {
    meta: item.meta,
    batch: item.batch.pick(rows),
    secs: Float64Array.from(rows, (r) => item.secs[r]!),
    rowNo: Uint32Array.from(rows, (r) => (base ? base[r]! : r)),
  };
}
