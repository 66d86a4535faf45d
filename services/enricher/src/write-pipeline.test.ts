import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowBatch, makeBatchMeta, type BatchMeta } from '@sightline/flow';
import { WritePipeline, type PendingMessage, type WriteTarget } from './write-pipeline.js';

function item(key: string, rows: number): { meta: BatchMeta; batch: FlowBatch } {
  const batch = new FlowBatch(Math.max(rows, 1));
  batch.length = rows;
  const meta = makeBatchMeta({ tenant: 'acme', cloud: 'aws', account: '1', source: { container: 'c', key, version: null, range: null }, seq: 0, records: rows });
  return { meta, batch };
}

/** A store that records what it was given, answers after `gate` opens, and can be made to fail. */
function recorder() {
  const writes: string[][] = [];
  const commits: { partition: number; offset: string }[][] = [];
  const errors: string[] = [];
  let failures = 0;
  let gate: Promise<void> = Promise.resolve();
  const target: WriteTarget = {
    write: async (items) => {
      await gate;
      if (failures > 0) { failures--; throw new Error('store down'); }
      writes.push(items.map((i) => i.meta.source.key));
      return items.map(() => ({ written: true }));
    },
    commit: async (offsets) => { commits.push(offsets); },
    onWritten: () => undefined,
    onError: (what) => { errors.push(what); },
  };
  return { target, writes, commits, errors, fail: (n: number) => { failures = n; }, hold: () => { let open!: () => void; gate = new Promise((ok) => { open = ok; }); return () => open(); } };
}

const msg = (partition: number, offset: number, rows: number | null): PendingMessage => ({ partition, offset: String(offset), item: rows === null ? undefined : item(`p${partition}/${offset}`, rows) });

test('write pipeline: batches grouped up to writeRows, in order, one commit per partition after each write', async () => {
  const r = recorder();
  const p = new WritePipeline(r.target, { writeRows: 250, pendingRows: 10_000 });
  const open = r.hold();
  // the first write is at the store while the rest queue up behind it
  await p.push(msg(0, 10, 100));
  for (const m of [msg(1, 5, 100), msg(0, 11, 100), msg(0, 12, null), msg(1, 6, 100), msg(1, 7, 300), msg(0, 13, 50)]) await p.push(m);
  open();
  await p.drained();
  assert.deepEqual(r.writes, [['p0/10'], ['p1/5', 'p0/11'], ['p1/6'], ['p1/7'], ['p0/13']]);
  // the skipped message (p0/12) is committed with the write it was queued in
  assert.deepEqual(r.commits, [
    [{ partition: 0, offset: '11' }],
    [{ partition: 1, offset: '6' }, { partition: 0, offset: '13' }],
    [{ partition: 1, offset: '7' }],
    [{ partition: 1, offset: '8' }],
    [{ partition: 0, offset: '14' }],
  ]);
  assert.equal(p.rows, 0);
});

test('write pipeline: a failed write is retried, and nothing after it is committed before it succeeds', async () => {
  const r = recorder();
  const p = new WritePipeline(r.target, { writeRows: 100, pendingRows: 10_000, retryMs: 5 });
  r.fail(2);
  await p.push(msg(0, 1, 100));
  await p.push(msg(0, 2, 100));
  await p.drained();
  assert.deepEqual(r.errors, ['write', 'write']);
  assert.deepEqual(r.writes, [['p0/1'], ['p0/2']]);
  assert.deepEqual(r.commits, [[{ partition: 0, offset: '2' }], [{ partition: 0, offset: '3' }]]);
});

test('write pipeline: push waits while pendingRows are queued, calling back while it waits', async () => {
  const r = recorder();
  const p = new WritePipeline(r.target, { writeRows: 100, pendingRows: 200 });
  const open = r.hold();
  await p.push(msg(0, 1, 100));
  await p.push(msg(0, 2, 100));
  let waited = 0;
  let pushed = false;
  const third = p.push(msg(0, 3, 100), async () => { waited++; }).then(() => { pushed = true; });
  await new Promise((ok) => setTimeout(ok, 1200));
  assert.equal(pushed, false, 'held back while 200 rows are pending');
  assert.ok(waited >= 1, 'heartbeat called while waiting');
  open();
  await third;
  await p.drained();
  assert.deepEqual(r.writes.flat(), ['p0/1', 'p0/2', 'p0/3']);
});

test('write pipeline: close gives up at the first failure and leaves the rest uncommitted', async () => {
  const r = recorder();
  const p = new WritePipeline(r.target, { writeRows: 100, pendingRows: 10_000, retryMs: 60_000 });
  const open = r.hold();
  r.fail(1);
  await p.push(msg(0, 1, 100));
  await p.push(msg(0, 2, 100));
  const closed = p.close();
  open();
  await closed;
  assert.deepEqual(r.writes, []);
  assert.deepEqual(r.commits, []);
  assert.equal(p.rows, 0);
});

test('write pipeline: lanes write their partitions at the same time, each partition committed in order', async () => {
  const r = recorder();
  let inflight = 0;
  let most = 0;
  const write = r.target.write;
  r.target.write = async (items) => {
    inflight++;
    most = Math.max(most, inflight);
    await new Promise((ok) => setTimeout(ok, 20));
    try { return await write(items); } finally { inflight--; }
  };
  const p = new WritePipeline(r.target, { writeRows: 100, pendingRows: 10_000, lanes: 2 });
  for (let o = 0; o < 4; o++) for (const part of [0, 1, 2, 3]) await p.push(msg(part, o, 100));
  await p.drained();
  assert.equal(most, 2, 'two writes at the store at once');
  for (const part of [0, 1, 2, 3]) {
    const offsets = r.commits.flat().filter((c) => c.partition === part).map((c) => Number(c.offset));
    assert.deepEqual(offsets, [1, 2, 3, 4], `partition ${part} commits in order`);
  }
});
