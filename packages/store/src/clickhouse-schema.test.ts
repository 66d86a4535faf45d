import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clickhouseMigrations, featuresFor, parseVersion } from './clickhouse-schema.js';

test('features follow the server version', () => {
  assert.deepEqual(parseVersion('18.16.1'), [18, 16]);
  const old = featuresFor('18.16.1', true);
  assert.deepEqual(
    { lc: old.lowCardinality, dt64: old.dateTime64, ttl: old.ttl, codecs: old.codecs, idx: old.skipIndexes, token: old.dedupToken },
    { lc: true, dt64: false, ttl: false, codecs: false, idx: false, token: false },
  );
  assert.equal(featuresFor('18.16.1', false).lowCardinality, false);
  const cur = featuresFor('24.8.4.13', false);
  assert.deepEqual(
    { lc: cur.lowCardinality, dt64: cur.dateTime64, ttl: cur.ttl, codecs: cur.codecs, idx: cur.skipIndexes, token: cur.dedupToken },
    { lc: true, dt64: true, ttl: true, codecs: true, idx: true, token: true },
  );
  assert.equal(featuresFor('22.1.3', false).dedupToken, false);
  assert.equal(featuresFor('22.2.2', false).dedupToken, true);
  assert.throws(() => parseVersion('unknown'), /cannot read ClickHouse version/);
});

test('DDL for 18.16 uses none of the newer features; DDL for a current server uses them', () => {
  const old = clickhouseMigrations('db', featuresFor('18.16.1', true)).flatMap((m) => m.statements).join('\n');
  for (const f of ['DateTime64', 'TTL', 'CODEC', 'INDEX', 'non_replicated_deduplication_window']) assert.ok(!old.includes(f), f);
  assert.ok(old.includes('LowCardinality(Nullable(String))'));
  const cur = clickhouseMigrations('db', featuresFor('24.8.4.13', false)).flatMap((m) => m.statements).join('\n');
  for (const f of ["DateTime64(6, 'UTC')", 'TTL ts + INTERVAL 30 DAY', 'CODEC(DoubleDelta', 'TYPE bloom_filter', 'non_replicated_deduplication_window']) {
    assert.ok(cur.includes(f), f);
  }
});
