import type { ClickHouseStore } from '../src/clickhouse-store.js';
import { metaFor } from '../src/testdata/sample.js';
import { enrichedBatch } from '../src/testdata/synthetic.js';

/**
 * The insert workload of the store's insert benches (cluster.bench.ts, feed.bench.ts): BENCH_BATCHES
 * batches of BENCH_ROWS enriched flows, written BENCH_GROUP batches a call (as the enricher hands them
 * over), BENCH_RUNS rounds. The same batches every round and in every bench.
 */
export const ROWS = Number(process.env.BENCH_ROWS ?? 8192);
export const BATCHES = Number(process.env.BENCH_BATCHES ?? 24);
export const GROUP = Number(process.env.BENCH_GROUP ?? 8);
export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const T0 = Date.UTC(2024, 10, 26);
const batches = Array.from({ length: BATCHES }, (_, k) => enrichedBatch(ROWS, 5000 + k, T0 + k * 60_000, 3_600_000));

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * Writes the workload through `s` (batch ids of round `round`) and returns rows per second. `attempts`:
 * how many times a failed call is tried (the enricher retries one; a store that drops a repeat, as a
 * cluster does, can take it), each retry reported through `onRetry`.
 */
export async function writeWorkload(s: ClickHouseStore, round: number, attempts = 1, onRetry = (): void => undefined): Promise<number> {
  const t = performance.now();
  for (let k = 0; k < BATCHES; k += GROUP) {
    const items = batches.slice(k, k + GROUP).map((batch, j) => ({ meta: metaFor('acme', `bench/${round}/${k + j}`, batch.length), batch }));
    for (let attempt = 1; ; attempt++) {
      try {
        await s.writeBatches(items);
        break;
      } catch (e) {
        if (attempt >= attempts) throw e;
        onRetry();
      }
    }
  }
  return (ROWS * BATCHES) / ((performance.now() - t) / 1000);
}
