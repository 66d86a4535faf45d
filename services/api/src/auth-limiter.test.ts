import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureLimiter } from './auth-limiter.js';
import { Semaphore } from './semaphore.js';

test('failure limiter: a burst of failures, then one per interval; only failures count; clients apart; bounded', () => {
  let now = 0;
  const l = new FailureLimiter({ burst: 3, perSecond: 0.5, maxClients: 2 }, () => now);
  assert.equal(l.blockedFor('a'), 0);
  assert.deepEqual([l.fail('a'), l.fail('a'), l.fail('a')], [false, false, true]);
  assert.equal(l.blockedFor('a'), 2000, 'one token every 2 s');
  assert.equal(l.blockedFor('b'), 0, 'another address is not affected');
  now += 1000;
  assert.equal(l.blockedFor('a'), 1000);
  now += 1000;
  assert.equal(l.blockedFor('a'), 0);
  assert.equal(l.fail('a'), true, 'the refilled token is spent at once');
  now += 10_000;
  assert.equal(l.blockedFor('a'), 0);
  l.fail('b');
  l.fail('c');
  l.fail('d');
  assert.ok(l.clients <= 2, 'at most maxClients addresses remembered');
});

test('semaphore: holders up to the limit, a bounded queue served in order, a waiter that gives up leaves it', async () => {
  const s = new Semaphore(1, 1);
  const first = await s.acquire(0);
  assert.ok(first);
  assert.equal(await s.acquire(0), null, 'no wait allowed: refused at once');
  const ac = new AbortController();
  const second = s.acquire(60_000, ac.signal);
  assert.equal(await s.acquire(60_000), null, 'the queue holds one');
  ac.abort();
  assert.equal(await second, null);
  assert.equal(s.queued, 0);
  const third = s.acquire(60_000);
  first();
  first(); // a second release is ignored
  const r3 = await third;
  assert.ok(r3);
  assert.equal(s.running, 1);
  r3();
  assert.equal(s.running, 0);
});
