import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colIndex, FlowBatch } from './batch.js';

test('pick copies the rows given, in their order, every allocated column and the extras', () => {
  const b = new FlowBatch(4);
  const port = b.numbers(colIndex('dst_port'));
  const cloud = b.strings(colIndex('cloud'));
  b.extra = [null, { a: '1' }, null, { b: '2' }];
  for (let r = 0; r < 4; r++) {
    port[r] = 80 + r;
    cloud[r] = r % 2 === 0 ? 'aws' : null;
  }
  b.length = 4;
  const p = b.pick([3, 0]);
  assert.equal(p.length, 2);
  assert.deepEqual(Array.from(p.numbers(colIndex('dst_port')).subarray(0, 2)), [83, 80]);
  assert.deepEqual(p.strings(colIndex('cloud')).slice(0, 2), [null, 'aws']);
  assert.deepEqual(p.extra?.slice(0, 2), [{ b: '2' }, null]);
  assert.equal(p.columns[colIndex('src_port')], undefined, 'a column the batch did not allocate stays unallocated');
  const none = b.pick([]);
  assert.equal(none.length, 0);
});
