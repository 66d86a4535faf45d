import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4ToUint, LeaseIndex, NONE, uintToIpv4 } from './lease-index.js';

const T = (iso: string) => Date.parse(iso);

test('ipv4ToUint parses strict dotted quads only', () => {
  assert.equal(ipv4ToUint('10.0.1.77'), (10 << 24) + (1 << 8) + 77);
  assert.equal(ipv4ToUint('255.255.255.255'), 0xffffffff);
  assert.equal(uintToIpv4(ipv4ToUint('192.168.0.1')), '192.168.0.1');
  for (const bad of ['10.0.1', '10.0.1.256', '010.0.0.1', '1.2.3.4.5', 'fd00::1', '', '1..2.3']) assert.equal(ipv4ToUint(bad), -1, bad);
});

test('a lease covers [start, end): before, inside, at the end, open leases', () => {
  const ix = new LeaseIndex();
  ix.add('10.0.0.1', T('2025-03-10T10:00:00Z'), T('2025-03-10T11:00:00Z'), 1);
  ix.add('10.0.0.2', T('2025-03-10T10:00:00Z'), Infinity, 2);
  const at = (ip: string, iso: string) => ix.lookup(ip, T(iso), T(iso));
  assert.equal(at('10.0.0.1', '2025-03-10T09:59:59Z'), NONE);
  assert.equal(at('10.0.0.1', '2025-03-10T10:00:00Z'), 1);
  assert.equal(at('10.0.0.1', '2025-03-10T10:59:59Z'), 1);
  assert.equal(at('10.0.0.1', '2025-03-10T11:00:00Z'), NONE);
  assert.equal(at('10.0.0.2', '2030-01-01T00:00:00Z'), 2);
  assert.equal(at('10.0.0.3', '2025-03-10T10:30:00Z'), NONE);
});

test('reused IP: each flow gets the lease covering its midpoint, else the newest overlapping one', () => {
  const ix = new LeaseIndex();
  ix.add('10.0.1.88', T('2025-03-10T11:58:01Z'), T('2025-03-10T12:03:00Z'), 7); // finished Job pod
  ix.add('10.0.1.88', T('2025-03-10T12:04:00Z'), Infinity, 8); // next Job pod
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:00:10Z'), T('2025-03-10T12:02:30Z')), 7);
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:05:00Z'), T('2025-03-10T12:09:00Z')), 8);
  // midpoint 12:03:30 falls in the gap: both overlap, the newest wins
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:02:00Z'), T('2025-03-10T12:05:00Z')), 8);
  // midpoint in the gap, only the old one overlaps
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:02:50Z'), T('2025-03-10T12:03:50Z')), 7);
  // wholly in the gap: nobody
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:03:10Z'), T('2025-03-10T12:03:50Z')), NONE);
  // one time missing: the other one is used
  assert.equal(ix.lookup('10.0.1.88', NaN, T('2025-03-10T12:06:00Z')), 8);
});

test('leases added out of order are found by time; setEnd ends an open lease', () => {
  const ix = new LeaseIndex();
  const late = ix.add('10.0.0.9', T('2025-03-10T12:00:00Z'), Infinity, 3);
  ix.add('10.0.0.9', T('2025-03-10T08:00:00Z'), T('2025-03-10T09:00:00Z'), 1);
  ix.add('10.0.0.9', T('2025-03-10T10:00:00Z'), T('2025-03-10T11:00:00Z'), 2);
  assert.equal(ix.lookup('10.0.0.9', T('2025-03-10T08:30:00Z'), T('2025-03-10T08:30:00Z')), 1);
  assert.equal(ix.lookup('10.0.0.9', T('2025-03-10T10:30:00Z'), T('2025-03-10T10:30:00Z')), 2);
  assert.equal(ix.lookup('10.0.0.9', T('2025-03-10T13:00:00Z'), T('2025-03-10T13:00:00Z')), 3);
  assert.ok(ix.isOpen(late));
  ix.setEnd(late, T('2025-03-10T12:30:00Z'));
  assert.ok(!ix.isOpen(late));
  assert.equal(ix.lookup('10.0.0.9', T('2025-03-10T13:00:00Z'), T('2025-03-10T13:00:00Z')), NONE);
});

test('IPv6 addresses are indexed by their canonical string', () => {
  const ix = new LeaseIndex();
  ix.add('fd00:10:244::1a', T('2025-03-10T10:00:00Z'), Infinity, 4);
  assert.equal(ix.lookup('fd00:10:244::1a', T('2025-03-10T10:00:01Z'), T('2025-03-10T10:00:02Z')), 4);
  assert.equal(ix.lookup('fd00:10:244::1b', T('2025-03-10T10:00:01Z'), T('2025-03-10T10:00:02Z')), NONE);
  assert.equal(ix.add('not-an-ip', 0, Infinity, 1), NONE);
});

test('retention: compaction drops leases ended before the cutoff and keeps answers for the rest', () => {
  const ix = new LeaseIndex();
  const day = 24 * 3600 * 1000;
  const now = T('2025-03-11T12:00:00Z');
  ix.add('10.1.0.1', now - 3 * day, now - 2 * day, 1); // older than 24 h: dropped
  const kept = ix.add('10.1.0.1', now - 2 * day, now - 3600_000, 2); // ended 1 h ago: kept
  ix.add('10.1.0.2', now - 5 * day, now - 4 * day, 3); // address with only old leases: dropped
  ix.add('10.1.0.3', now - 5 * day, Infinity, 4); // open: kept however old
  const remap = ix.compact(now - day);
  assert.equal(ix.size, 2);
  assert.equal(ix.addresses, 2);
  assert.notEqual(remap[kept], NONE);
  assert.equal(ix.lookup('10.1.0.1', now - 2.5 * day, now - 2.5 * day), NONE);
  assert.equal(ix.lookup('10.1.0.1', now - 2 * 3600_000, now - 2 * 3600_000), 2);
  assert.equal(ix.lookup('10.1.0.2', now - 4.5 * day, now - 4.5 * day), NONE);
  assert.equal(ix.lookup('10.1.0.3', now, now), 4);
});

test('agrees with a plain reference model on 20,000 random leases, before and after compaction', () => {
  let seed = 42;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const ix = new LeaseIndex(16, 16); // small start: exercises growth and rehash
  const ref = new Map<string, { s: number; e: number; id: number }[]>();
  const base = T('2025-03-10T00:00:00Z');
  for (let i = 0; i < 20000; i++) {
    const ip = `10.${(rnd() * 4) | 0}.${(rnd() * 256) | 0}.${(rnd() * 8) | 0}`;
    const list = ref.get(ip) ?? [];
    // non-overlapping leases per address, as pods holding an IP one after another
    const s = (list.at(-1)?.e ?? base) + ((rnd() * 600) | 0) * 1000;
    const e = s + (1 + ((rnd() * 3600) | 0)) * 1000;
    list.push({ s, e, id: i });
    ref.set(ip, list);
    ix.add(ip, s, e, i);
  }
  const check = (cutoff: number) => {
    for (const [ip, list] of ref) {
      for (const l of list.slice(0, 5)) {
        const t = l.s + (l.e - l.s) / 2;
        assert.equal(ix.lookup(ip, t, t), l.e >= cutoff ? l.id : NONE, `${ip} at ${t}`);
      }
    }
  };
  check(-Infinity);
  const cutoff = base + 3 * 3600 * 1000;
  ix.compact(cutoff);
  check(cutoff);
});
