import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientKey, FailureLimiter } from './auth-limiter.js';
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

test('failure limiter key: an IPv6 client by its /64 (one host may use any address of it), IPv4 and IPv4-mapped addresses as such', () => {
  // keyed by the full address, each address of a /64 had a burst of its own: token guessing unbounded
  assert.equal(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:2:ffff:eeee:dddd:cccc'));
  assert.equal(clientKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:0DB8:0001:0002:0:0:0:9'), '2001:db8:1:2::/64', 'case and leading zeros');
  assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'zone id dropped');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64', 'embedded IPv4 counts two groups');
  assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'), 'another /64 is another client');
  // a dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d: each stays its own client, not one /64 for all
  assert.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.notEqual(clientKey('::ffff:192.0.2.1'), clientKey('::ffff:192.0.2.2'));
  assert.equal(clientKey('192.0.2.1'), '192.0.2.1');
  assert.equal(clientKey(undefined), 'unknown');

  const l = new FailureLimiter({ burst: 2, perSecond: 0.001, maxClients: 100 }, () => 0);
  l.fail(clientKey('2001:db8::a'));
  l.fail(clientKey('2001:db8::b'));
  assert.ok(l.blockedFor(clientKey('2001:db8::c')) > 0, 'a third address of the same /64 is limited with the first two');
  assert.equal(l.clients, 1);
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
