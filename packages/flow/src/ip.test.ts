import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeIp } from './ip.js';

test('IPv4 is validated and kept', () => {
  assert.equal(normalizeIp('10.0.1.5'), '10.0.1.5');
  assert.equal(normalizeIp('255.255.255.255'), '255.255.255.255');
  for (const bad of ['10.0.1', '10.0.1.256', '10.00.1.5', '1.2.3.4.5', 'a.b.c.d', '', '-']) assert.equal(normalizeIp(bad), null, bad);
});

test('IPv6 is written in RFC 5952 form', () => {
  assert.equal(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(normalizeIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
  assert.equal(normalizeIp('fe80::0:1'), 'fe80::1');
  assert.equal(normalizeIp('::'), '::');
  assert.equal(normalizeIp('::ffff:10.0.0.1'), '::ffff:10.0.0.1');
  assert.equal(normalizeIp('0:0:0:0:0:ffff:a00:1'), '::ffff:10.0.0.1');
  for (const bad of ['2001:db8::1::2', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0']) assert.equal(normalizeIp(bad), null, bad);
});
