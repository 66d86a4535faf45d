import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { QueryEvent } from '@sightline/api';
import { DuckDBStore } from '@sightline/store';
import { EMBEDDED_MEMORY_LIMIT } from './embedded.js';
import { startEmbeddedApi, type EmbeddedApi } from './query-api.js';

// The embedded query API over a real DuckDB file: a query past its deadline, or whose client
// left, is interrupted in DuckDB (before, the 504 was sent and the statement ran on to its end).
const dir = mkdtempSync(path.join(tmpdir(), 'embedded-query-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2025, 2, 10, 8);
const HEAVY = { from: T0, to: T0 + 2 * 3_600_000, dimensions: ['src_addr', 'dst_addr', 'dst_pod'], resolution: 'raw', limit: 1000 };
let n = 0;

/** A store with `rows` rows of tenant demo, each its own (src_addr, dst_addr, pod) group, and the API on it as `runEmbedded` starts it. */
async function open(rows: number, timeoutMs?: number): Promise<{ api: EmbeddedApi; events: QueryEvent[]; close: () => Promise<void> }> {
  const file = path.join(dir, `e${n++}.duckdb`);
  const store = await DuckDBStore.open({ path: file, memoryLimit: EMBEDDED_MEMORY_LIMIT });
  await store.migrate();
  await store.withConnection((c) =>
    // rows without a cloud: the raw table that holds them is the wide one (layout (b), store migration 5)
    c.run(`INSERT INTO flows_wide (tenant, batch_id, row_no, ts, src_addr, dst_addr, dst_k8s_pod, bytes, packets)
      SELECT 'demo', 'heavy', i, make_timestamp(${T0 * 1000}::BIGINT + (i % 7200) * 1000000), '10.1.' || (i % 251) || '.' || (i // 251 % 251),
        '10.2.' || (i % 241) || '.' || (i // 241 % 241), 'pod-' || i, 100, 1 FROM range(${rows}) t(i)`),
  );
  const api = await startEmbeddedApi({ path: file, memoryLimit: EMBEDDED_MEMORY_LIMIT }, 'demo', { host: '127.0.0.1', port: 0 }, timeoutMs === undefined ? {} : { timeoutMs });
  const events: QueryEvent[] = [];
  api.runner.limiter.on((e) => events.push(e));
  return {
    api,
    events,
    close: async () => {
      await api.close();
      await store.close();
    },
  };
}

const post = (api: EmbeddedApi, body: unknown, signal?: AbortSignal) =>
  fetch(`${api.url}/v1/query/topn`, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });

function when(api: EmbeddedApi, pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (pred()) return resolve();
    const stop = api.runner.limiter.on(() => {
      if (pred()) {
        stop();
        resolve();
      }
    });
  });
}

test('embedded api: a query that gets its 504 is interrupted in DuckDB and its slot freed', async () => {
  const { api, events, close } = await open(1_000_000, 1);
  try {
    const r = await post(api, HEAVY);
    assert.equal(r.status, 504, await r.text());
    await when(api, () => events.some((e) => e.type === 'stopped'));
    assert.deepEqual(events.filter((e) => e.type === 'cancelled').map((e) => e.type === 'cancelled' && e.reason), ['deadline']);
    assert.ok(events.some((e) => e.type === 'stopped' && e.interrupted === true), 'the statement ended by the interrupt, not by finishing');
    await when(api, () => api.runner.limiter.stats().running === 0);
  } finally {
    await close();
  }
});

test('embedded api: a query whose client left is interrupted, and its slot is freed once DuckDB stopped it', async () => {
  const { api, events, close } = await open(1_000_000);
  try {
    const ac = new AbortController();
    const gone = post(api, HEAVY, ac.signal).then(() => 'answered', () => 'aborted');
    await when(api, () => events.some((e) => e.type === 'admitted'));
    ac.abort();
    assert.equal(await gone, 'aborted');
    await when(api, () => events.some((e) => e.type === 'released'));
    const kinds = events.map((e) => (e.type === 'cancelled' ? `cancelled:${e.reason}` : e.type));
    assert.deepEqual(kinds, ['admitted', 'cancelled:client-gone', 'stopped', 'released']);
    assert.ok(events.some((e) => e.type === 'stopped' && e.interrupted === true), 'the statement ended by the interrupt, not by finishing');
    const next = await post(api, { ...HEAVY, dimensions: ['src_addr'], limit: 3 });
    assert.equal(next.status, 200, await next.text());
  } finally {
    await close();
  }
});
