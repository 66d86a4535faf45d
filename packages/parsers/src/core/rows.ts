import type { FlowBatch } from '@sightline/flow';

/** Resets a row that failed halfway, so its cells do not leak into the next record written there. */
export function clearRow(batch: FlowBatch, row: number): void {
  for (const c of batch.columns) {
    if (c === undefined) continue;
    if (c instanceof Float64Array) c[row] = NaN;
    else c[row] = null;
  }
  if (batch.extra) batch.extra[row] = null;
}


/** The string cell at (row r, column col), null when absent or the column is numeric or unallocated. */
export function strAt(batch: FlowBatch, col: number, r: number): string | null {
  const c = batch.columns[col];
  if (c === undefined || c instanceof Float64Array) return null;
  return c[r] ?? null;
}
