import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderedCommit, Semaphore } from './ordered-commit.js';

test('the cursor advances only over a contiguous prefix of finished units', () => {
  const oc = new OrderedCommit<string>();
  const [a, b, c, d] = [oc.add(), oc.add(), oc.add(), oc.add()];
  assert.equal(oc.complete(c, 'after-c'), undefined, 'c waits for a and b');
  assert.equal(oc.complete(b, 'after-b'), undefined, 'b waits for a');
  assert.equal(oc.complete(a, 'after-a'), 'after-c', 'a releases a, b and c at once');
  assert.equal(oc.pending, 1);
  assert.equal(oc.complete(d, 'after-d'), 'after-d');
  assert.equal(oc.pending, 0);
  assert.throws(() => oc.complete(a, 'again'), /ticket 0 is not pending/);
});

test('the semaphore bounds concurrency and hands slots over in order', async () => {
  const s = new Semaphore(2);
  const order: number[] = [];
  await s.acquire();
  await s.acquire();
  const third = s.acquire().then(() => order.push(3));
  const fourth = s.acquire().then(() => order.push(4));
  await Promise.resolve();
  assert.deepEqual(order, [], 'no slot while two are held');
  s.release();
  await third;
  assert.deepEqual(order, [3]);
  s.release();
  await fourth;
  assert.deepEqual(order, [3, 4]);
  const ac = new AbortController();
  const fifth = s.acquire(ac.signal);
  ac.abort(new Error('stop'));
  await assert.rejects(fifth, /stop/);
});
