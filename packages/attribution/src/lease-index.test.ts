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

/**
 * Runs `fn` on a fresh index as built, and again with its leases laid out by compaction (other
 * code paths); `ids` are the lease ids `build` returned, followed through compaction.
 */
const bothLayouts = (build: (ix: LeaseIndex) => number[] | void, fn: (ix: LeaseIndex, layout: string, ids: number[]) => void) => {
  for (const compacted of [false, true]) {
    const ix = new LeaseIndex();
    let ids = build(ix) ?? [];
    if (compacted) {
      const remap = ix.compact(0);
      ids = ids.map((id) => remap[id]!);
    }
    fn(ix, compacted ? 'compacted' : 'as built', ids);
  }
};

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
  bothLayouts(
    (ix) => {
      ix.add('10.0.1.88', T('2025-03-10T11:58:01Z'), T('2025-03-10T12:03:00Z'), 7); // finished Job pod
      ix.add('10.0.1.88', T('2025-03-10T12:04:00Z'), Infinity, 8); // next Job pod
    },
    (ix) => reusedIpAnswers(ix),
  );
});

test('reused IP with older leases behind: the gap rules hold deep in the list', () => {
  bothLayouts(
    (ix) => {
      ix.add('10.0.1.88', T('2025-03-10T08:00:00Z'), T('2025-03-10T09:00:00Z'), 5);
      ix.add('10.0.1.88', T('2025-03-10T09:00:00Z'), T('2025-03-10T11:00:00Z'), 6); // starts as the previous ends
      ix.add('10.0.1.88', T('2025-03-10T11:58:01Z'), T('2025-03-10T12:03:00Z'), 7);
      ix.add('10.0.1.88', T('2025-03-10T12:04:00Z'), T('2025-03-10T13:00:00Z'), 8);
      ix.add('10.0.1.88', T('2025-03-10T14:00:00Z'), Infinity, 9);
    },
    (ix, layout) => {
      const at = (iso: string) => ix.lookup('10.0.1.88', T(iso), T(iso));
      assert.equal(at('2025-03-10T08:59:59Z'), 5, layout);
      assert.equal(at('2025-03-10T09:00:00Z'), 6, layout); // end exclusive, start inclusive
      assert.equal(at('2025-03-10T07:59:59Z'), NONE, layout);
      assert.equal(at('2025-03-10T11:30:00Z'), NONE, layout);
      assert.equal(at('2025-03-10T13:30:00Z'), NONE, layout);
      assert.equal(at('2025-03-10T14:00:00Z'), 9, layout);
      // midpoint in the gap 11:00-11:58, only lease 6 overlaps
      assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T10:59:00Z'), T('2025-03-10T11:10:00Z')), 6, layout);
      // midpoint in the gap 13:00-14:00, both neighbours overlap: the newer wins
      assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:50:00Z'), T('2025-03-10T14:20:00Z')), 9, layout);
      reusedIpAnswers(ix, layout);
    },
  );
});

function reusedIpAnswers(ix: LeaseIndex, layout = ''): void {
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:00:10Z'), T('2025-03-10T12:02:30Z')), 7, layout);
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:05:00Z'), T('2025-03-10T12:09:00Z')), 8, layout);
  // midpoint 12:03:30 falls in the gap: both overlap, the newest wins
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:02:00Z'), T('2025-03-10T12:05:00Z')), 8, layout);
  // midpoint in the gap, only the old one overlaps
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:02:50Z'), T('2025-03-10T12:03:50Z')), 7, layout);
  // wholly in the gap: nobody
  assert.equal(ix.lookup('10.0.1.88', T('2025-03-10T12:03:10Z'), T('2025-03-10T12:03:50Z')), NONE, layout);
  // one time missing: the other one is used
  assert.equal(ix.lookup('10.0.1.88', NaN, T('2025-03-10T12:06:00Z')), 8, layout);
}

test('leases added out of order are found by time; setEnd ends an open lease', () => {
  const ix = new LeaseIndex();
  const late = ix.add('10.0.0.9', T('2025-03-10T12:00:00Z'), Infinity, 3);
  ix.add('10.0.0.9', T('2025-03-10T08:00:00Z'), T('2025-03-10T09:00:00Z'), 1);
  ix.add('10.0.0.9', T('2025-03-10T10:00:00Z'), T('2025-03-10T11:00:00Z'), 2);
  assert.equal(ix.lookup('10.0.0.9', T('2025-03-10T08:30:00Z'), T('2025-03-10T08:30:00Z')), 1);
  assert.equal(ix.lookup('10.0.0.9', T('2025-03-10T10:30:00Z'), T('2025-03-10T10:30:00Z')), 2);
  assert.equal(ix.lookup('10.0.0.9', T('2025-03-10T13:00:00Z'), T('2025-03-10T13:00:00Z')), 3);
  assert.ok(ix.isOpen(late));
  ix.setEnd('10.0.0.9', late, T('2025-03-10T12:30:00Z'));
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

/** The rule written plainly over every lease of an address, for differential tests. */
class Reference {
  private readonly leases = new Map<string, { s: number; e: number; ep: number; order: number; id: number }[]>();
  private order = 0;
  add(ip: string, s: number, e: number, ep: number, id: number): void {
    const list = this.leases.get(ip) ?? [];
    list.push({ s, e: Math.max(s, e), ep, order: this.order++, id });
    this.leases.set(ip, list);
  }
  setEnd(id: number, e: number): void {
    for (const list of this.leases.values()) for (const l of list) if (l.id === id) l.e = Math.max(l.s, e);
  }
  compact(cutoff: number, remap: Int32Array): void {
    for (const [ip, list] of this.leases) {
      const kept = list.filter((l) => l.e >= cutoff);
      for (const l of kept) l.id = remap[l.id]!;
      if (kept.length === 0) this.leases.delete(ip);
      else this.leases.set(ip, kept);
    }
  }
  lookup(ip: string, a: number, b: number): number {
    if (Number.isNaN(a)) a = b;
    if (Number.isNaN(b)) b = a;
    if (Number.isNaN(a)) return NONE;
    const mid = (a + b) / 2;
    // newest first; of two with the same start, the one added later
    const list = [...(this.leases.get(ip) ?? [])].sort((x, y) => y.s - x.s || y.order - x.order);
    const cover = list.find((l) => l.s <= b && l.s <= mid && l.e > mid);
    if (cover) return cover.ep;
    return list.find((l) => l.s <= b && l.e > a)?.ep ?? NONE;
  }
  ids(): { ip: string; id: number; e: number }[] {
    return [...this.leases].flatMap(([ip, list]) => list.map((l) => ({ ip, id: l.id, e: l.e })));
  }
}

test('agrees with the plain rule under overlapping leases, out-of-order adds, setEnd and compaction between adds (single and batch lookups)', () => {
  let seed = 4242;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const base = T('2025-03-10T00:00:00Z');
  const sec = (x: number) => Math.floor(x) * 1000;
  const ix = new LeaseIndex(8, 8);
  const ref = new Reference();
  // few addresses, so they are reused many times; some IPv6
  const ipAt = (i: number) => (i % 17 === 0 ? `fd00::${i.toString(16)}` : `10.2.${i >> 8}.${i & 255}`);
  const ADDRS = 300;
  let now = base;
  const check = (label: string) => {
    const n = 400;
    const ips = new Int32Array(n);
    const s = new Float64Array(n);
    const e = new Float64Array(n);
    const want: number[] = [];
    for (let q = 0; q < n; q++) {
      const ip = ipAt((rnd() * (ADDRS + 20)) | 0); // some never held
      const a = now - rnd() * 30 * 3600_000;
      const kind = rnd();
      const b = kind < 0.4 ? a : kind < 0.9 ? a + rnd() * 900_000 : NaN;
      const expected = ref.lookup(ip, a, b);
      assert.equal(ix.lookup(ip, a, b), expected, `${label}: ${ip} [${a}, ${b}]`);
      const u = ipv4ToUint(ip);
      if (u >= 0) {
        assert.equal(ix.lookupV4(u, a, b), expected, `${label} lookupV4: ${ip}`);
        ips[want.length] = u | 0;
        s[want.length] = a;
        e[want.length] = b;
        want.push(expected);
      }
    }
    const out = new Int32Array(want.length);
    ix.lookupManyV4(ips, s, e, want.length, out, new Int32Array(want.length));
    assert.deepEqual([...out], want, `${label} lookupManyV4`);
  };
  for (let round = 0; round < 8; round++) {
    for (let k = 0; k < 1500; k++) {
      now += ((rnd() * 40) | 0) * 1000;
      const ip = ipAt((rnd() * ADDRS) | 0);
      const r = rnd();
      // mostly pods one after another, some leases starting in the past (late events) and overlapping
      const s = sec((now - (r < 0.8 ? 0 : rnd() * 6 * 3600_000)) / 1000);
      const e = rnd() < 0.3 ? Infinity : s + sec(1 + rnd() * (rnd() < 0.7 ? 1800 : 4 * 3600));
      const ep = (rnd() * 1e6) | 0;
      const id = ix.add(ip, s, e, ep);
      ref.add(ip, s, e, ep, id);
      if (rnd() < 0.2) {
        const all = ref.ids();
        const pick = all[(rnd() * all.length) | 0]!;
        const end = sec((now - rnd() * 3600_000) / 1000);
        ix.setEnd(pick.ip, pick.id, end);
        ref.setEnd(pick.id, end);
      }
    }
    check(`round ${round} before compaction`);
    const cutoff = now - 24 * 3600_000;
    const remap = ix.compact(cutoff);
    ref.compact(cutoff, remap);
    check(`round ${round} after compaction`);
  }
});

test('setEnd: ends an older lease hidden behind the newest copy, and refuses a lease of another address', () => {
  bothLayouts(
    (ix) => [
      ix.add('10.0.3.1', T('2025-03-10T08:00:00Z'), Infinity, 1), // a delete that never arrived
      ix.add('10.0.3.1', T('2025-03-10T10:00:00Z'), Infinity, 2),
      ix.add('10.0.3.2', T('2025-03-10T08:00:00Z'), Infinity, 3),
    ],
    (ix, layout, [id1]) => {
      const at = (iso: string) => ix.lookup('10.0.3.1', T(iso), T(iso));
      assert.equal(at('2025-03-10T11:00:00Z'), 2, layout);
      assert.equal(at('2025-03-10T09:45:00Z'), 1, layout);
      ix.setEnd('10.0.3.1', id1!, T('2025-03-10T09:30:00Z'));
      assert.ok(!ix.isOpen(id1!), layout);
      assert.equal(at('2025-03-10T09:29:59Z'), 1, layout);
      assert.equal(at('2025-03-10T09:45:00Z'), NONE, layout);
      assert.equal(at('2025-03-10T11:00:00Z'), 2, layout);
      assert.throws(() => ix.setEnd('10.0.3.2', id1!, T('2025-03-10T09:00:00Z')), /lease \d+ is not a lease of 10\.0\.3\.2/, layout);
      assert.throws(() => ix.setEnd('10.0.3.1', 99, 0), /no lease 99/, layout);
    },
  );
});
