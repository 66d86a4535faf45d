import { CLOUDS, colIndex, FIELD_LIST, type FlowBatch } from '@sightline/flow';

/**
 * Layout (b) (DuckDB migration 5, ClickHouse migration 9): which raw table each row of a batch goes
 * to, the one rule both engines' writers follow. A row goes to its cloud's table (the `cloud`
 * column), unless it has no cloud of CLOUDS or a value in a column that table lacks (a field the
 * frozen per-cloud lists do not give that cloud): then to `flows_wide`, which has every column and
 * feeds the same rollups, so no value is ever dropped. A batch is one cloud's in practice (a
 * parser's rows) and then goes whole, uncopied; otherwise it is split into copies of its rows that
 * keep their row numbers. A value in a column no raw table has fails the batch (a field added
 * without its migration).
 */

/** Which fields a raw table has a column for, by FIELD_LIST index (1: it has). */
export type TableFields = Uint8Array;

/** The fields of a table with these column names. */
export function tableFields(columns: Iterable<string>): TableFields {
  const names = new Set(columns);
  return Uint8Array.from(FIELD_LIST, (f) => (names.has(f.name) ? 1 : 0));
}

export interface RoutedRows {
  /** index into [...the cloud tables in CLOUDS order, the wide table] */
  readonly table: number;
  /** the batch's rows that go there, ascending; undefined: every row (the batch goes whole) */
  readonly rows: Int32Array | undefined;
}

const CLOUD_COL = colIndex('cloud');
const CLOUD_INDEX: ReadonlyMap<string, number> = new Map(CLOUDS.map((c, i) => [c, i]));
const hasValue = (c: Float64Array | (string | null)[], r: number): boolean => (c instanceof Float64Array ? !Number.isNaN(c[r]!) : c[r] !== null && c[r] !== undefined);

/**
 * `clouds`: each cloud table's fields, in CLOUDS order; `wide`: the wide table's. Returns one entry
 * per table that gets rows, in that order. `where` names the engine and batch for the error.
 */
export function routeBatch(batch: FlowBatch, clouds: readonly TableFields[], wide: TableFields, where: string): RoutedRows[] {
  const n = batch.length;
  if (n === 0) return [];
  const W = clouds.length;
  const dest = new Uint8Array(n).fill(W);
  const count = new Array<number>(W + 1).fill(0);
  const cloud = batch.columns[CLOUD_COL];
  if (Array.isArray(cloud)) {
    for (let r = 0; r < n; r++) {
      const i = CLOUD_INDEX.get(cloud[r] ?? '');
      if (i !== undefined) dest[r] = i;
    }
  }
  for (let r = 0; r < n; r++) count[dest[r]!]!++;
  for (let t = 0; t < W; t++) {
    if (count[t] === 0) continue;
    for (const [k, c] of batch.columns.entries()) {
      if (c === undefined || clouds[t]![k] === 1) continue;
      for (let r = 0; r < n; r++) {
        if (dest[r] === t && hasValue(c, r)) {
          dest[r] = W;
          count[t]!--;
          count[W]!++;
        }
      }
    }
  }
  if (count[W]! > 0) {
    for (const [k, c] of batch.columns.entries()) {
      if (c === undefined || wide[k] === 1) continue;
      for (let r = 0; r < n; r++) {
        if (dest[r] === W && hasValue(c, r)) throw new Error(`${where}: no raw table has a column ${FIELD_LIST[k]!.name} (row ${r}; a migration is missing)`);
      }
    }
  }
  const whole = count.findIndex((x) => x === n);
  if (whole >= 0) return [{ table: whole, rows: undefined }];
  const out: RoutedRows[] = [];
  for (let t = 0; t <= W; t++) {
    if (count[t] === 0) continue;
    const rows = new Int32Array(count[t]!);
    for (let r = 0, j = 0; r < n; r++) if (dest[r] === t) rows[j++] = r;
    out.push({ table: t, rows });
  }
  return out;
}
