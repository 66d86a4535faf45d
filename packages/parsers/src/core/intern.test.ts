import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FNV_SEED, fnv1a, fnvStep, Interner, normalizedAddr } from './intern.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');
const hash = (b: Uint8Array, s = 0, e = b.length) => {
  let h = FNV_SEED;
  for (let i = s; i < e; i++) h = fnvStep(h, b[i]!);
  return h;
};

test('fnv1a: the published FNV-1a 32-bit vectors (interface groups are keyed by it and must never move)', () => {
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
  assert.equal(hash(bytes('foobar')) >>> 0, 0xbf9cf968);
});

test('Interner by bytes: a hit wherever the bytes sit, a miss for other bytes of the same hash and length', () => {
  const it = new Interner(16);
  const a = bytes('xx eni-0a1b yy');
  assert.equal(it.get(a, 3, 11, hash(a, 3, 11)), null);
  it.set(a, 3, 11, hash(a, 3, 11), 'eni-0a1b');
  const b = bytes('eni-0a1b');
  assert.equal(it.get(b, 0, b.length, hash(b)), 'eni-0a1b');
  const c = bytes('eni-0a1c');
  assert.equal(it.get(c, 0, c.length, hash(b)), null, 'same hash given, other bytes');
  // a value may differ from its key (a normalized address)
  const v6 = bytes('2001:DB8::1');
  it.set(v6, 0, v6.length, hash(v6), '2001:db8::1');
  assert.equal(it.get(v6, 0, v6.length, hash(v6)), '2001:db8::1');
});

test('Interner.intern decodes on the first sight only: latin1 for ASCII, UTF-8 otherwise', () => {
  const it = new Interner(16);
  const u = bytes('pod-ä');
  assert.equal(it.intern(u, 0, u.length, hash(u), false), 'pod-ä');
  assert.equal(it.size, 1);
  assert.equal(it.intern(u, 0, u.length, hash(u), false), 'pod-ä');
  assert.equal(it.size, 1);
  const a = bytes('zone-b');
  assert.equal(it.intern(a, 0, a.length, hash(a), true), 'zone-b');
});

test('Interner is bounded: cleared when half full; keys over 256 bytes are not kept', () => {
  const it = new Interner(16);
  for (let i = 0; i < 8; i++) {
    const k = bytes(`k${i}`);
    it.set(k, 0, k.length, hash(k), `k${i}`);
  }
  assert.equal(it.size, 8);
  const k8 = bytes('k8');
  it.set(k8, 0, k8.length, hash(k8), 'k8');
  assert.equal(it.size, 1, 'cleared, then the new key');
  const k0 = bytes('k0');
  assert.equal(it.get(k0, 0, 2, hash(k0)), null);
  const long = bytes('a'.repeat(257));
  it.set(long, 0, long.length, hash(long), 'long');
  assert.equal(it.get(long, 0, long.length, hash(long)), null);
  // string keys count against the same bound
  for (let i = 0; i < 7; i++) it.internString(`s${i}`);
  assert.equal(it.size, 8);
  it.internString('s7');
  assert.equal(it.size, 1);
});

test('Interner by string: the value kept for a key, null included; normalizedAddr normalizes and caches', () => {
  const it = new Interner(16);
  assert.equal(it.getString('x'), undefined);
  it.setString('x', null);
  assert.equal(it.getString('x'), null);
  assert.equal(it.internString('project-a'), 'project-a');
  assert.equal(it.getString('project-a'), 'project-a');
  const addrs = new Interner(16);
  assert.equal(normalizedAddr(addrs, '2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(addrs.getString('2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(normalizedAddr(addrs, '10.0.0.300'), null);
  assert.equal(addrs.getString('10.0.0.300'), null, 'not an address: remembered too');
});

test('Interner by int32: IPv4 addresses above 127.255.255.255 too; bounded like the other keys', () => {
  const c = new Interner(16);
  const v = (203 << 24) | (0 << 16) | (113 << 8) | 7;
  assert.equal(c.getInt(v | 0), null);
  c.setInt(v | 0, '203.0.113.7');
  assert.equal(c.getInt(v | 0), '203.0.113.7');
  assert.equal(c.getInt(((10 << 24) | 7) | 0), null);
  for (let i = 1; i < 8; i++) c.setInt(i, `0.0.0.${i}`);
  assert.equal(c.size, 8);
  assert.equal(c.getInt(5), '0.0.0.5');
  c.setInt(8, '0.0.0.8');
  assert.equal(c.size, 1);
  assert.equal(c.getInt(v | 0), null);
  assert.equal(c.getInt(8), '0.0.0.8');
});
