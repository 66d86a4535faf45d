import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { DuckDBStore } from '@sightline/store';
import { consoleContract, deadlineCheck, fairnessCheck, heavyRowsSql, queryContract, seed } from './query-contract.test.js';
import type { QueryLimits } from './query-limiter.js';
import { DuckDBRunner } from './query-runner.js';

// The query API over a real DuckDB file, rows written through writeBatch; one file per test.
const dir = mkdtempSync(path.join(tmpdir(), 'api-query-duckdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function fresh(limits: Partial<QueryLimits> = {}, heavyRows = 0) {
  const file = path.join(dir, `q${n++}.duckdb`);
  // the same memory limit as the runner's: one database instance in one process
  const writer = await DuckDBStore.open({ path: file, memoryLimit: '1GB' });
  await writer.migrate();
  const seeded = await seed(writer, `duck${n}`);
  // rows without a cloud: the raw table that holds them is the wide one (store migration 5; flows is a view)
  if (heavyRows > 0) await writer.withConnection((c) => c.run(heavyRowsSql(heavyRows, 'flows_wide', 'duckdb')));
  // opened after the writes, as an api process would beside a running writer
  const runner = await DuckDBRunner.open(file, 2, { limits, memoryLimit: '1GB' });
  return {
    runner,
    seeded,
    writer,
    close: async () => {
      await runner.close();
      await writer.close();
    },
  };
}

queryContract('duckdb', () => fresh());
consoleContract('duckdb', () => fresh());

test('duckdb: an impossible deadline answers 504, interrupts the connection, and the pool keeps answering', async () => {
  // rows enough that the raw grouping runs well past the interrupt (a statement that finished first is not interrupted)
  const { runner, close } = await fresh({}, 1_000_000);
  try {
    await deadlineCheck(runner);
  } finally {
    await close();
  }
});

test('duckdb: 200 abandoned heavy queries of tenant A: B is admitted at once, A\'s leave the queue unrun or are interrupted', { timeout: 600_000 }, async () => {
  const { runner, close } = await fresh({ concurrent: 4, perTenant: 2, queuePerTenant: 200 }, 1_000_000);
  try {
    await fairnessCheck(runner, 200);
  } finally {
    await close();
  }
});
