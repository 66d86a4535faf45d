import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { clickhouseDialect, duckdbDialect, fieldExpr, filterSql, NON_INTERNET, parseCidr } from './query-sql.js';

test('query sql: CIDR ranges of IPv4 and IPv6 networks, bare addresses, and what is not a network', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { v: 4, lo: 167772160, hi: 184549375 });
  assert.deepEqual(parseCidr('10.1.2.3/8'), { v: 4, lo: 167772160, hi: 184549375 }, 'host bits dropped');
  assert.deepEqual(parseCidr('192.168.1.7'), { v: 4, lo: 3232235783, hi: 3232235783 });
  assert.deepEqual(parseCidr('0.0.0.0/0'), { v: 4, lo: 0, hi: 4294967295 });
  assert.deepEqual(parseCidr('2001:DB8::/32'), { v: 6, lo: '20010DB8000000000000000000000000', hi: '20010DB8FFFFFFFFFFFFFFFFFFFFFFFF' });
  assert.deepEqual(parseCidr('::ffff:10.0.0.0/104'), { v: 6, lo: '00000000000000000000FFFF0A000000', hi: '00000000000000000000FFFF0AFFFFFF' });
  assert.deepEqual(parseCidr('fe80::1'), { v: 6, lo: 'FE800000000000000000000000000001', hi: 'FE800000000000000000000000000001' });
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', '300.1.1.1', 'x', '10.0.0.0/-1', '10.0.0.0/8/8', "10.0.0.0/8' OR 1=1", '']) assert.equal(parseCidr(bad), null, bad);
  for (const c of NON_INTERNET) assert.ok(parseCidr(c), c);
});

test('query sql: filter values enter as parameters (DuckDB) or quoted literals (ClickHouse); not_in is the complement of in, absent values included', () => {
  const params: unknown[] = [];
  const d = duckdbDialect(params);
  assert.equal(filterSql(d, { field: 'dst_k8s_namespace', op: 'not_in', values: ["a'b"] }), '("dst_k8s_namespace" IS NULL OR "dst_k8s_namespace" NOT IN ($1))');
  assert.equal(filterSql(d, { field: 'dst_k8s_namespace', op: 'not_in', values: ['x', null] }), '("dst_k8s_namespace" IS NOT NULL AND "dst_k8s_namespace" NOT IN ($2))');
  assert.equal(filterSql(d, { field: 'dst_k8s_namespace', op: 'prefix', values: ['sh'] }), '(starts_with("dst_k8s_namespace", $3))');
  assert.deepEqual(params, ["a'b", 'x', 'sh']);
  const raw = clickhouseDialect(false, new Set(['dst_port']));
  assert.equal(filterSql(raw, { field: 'dst_k8s_namespace', op: 'prefix', values: ["é'"] }), "(substring(`dst_k8s_namespace`, 1, 3) = 'é\\'')");
  const rollup = clickhouseDialect(true, new Set(['dst_port']));
  assert.equal(filterSql(rollup, { field: 'dst_port', op: 'not_in', values: [53, null] }), '`k_dst_port` NOT IN (53, -1)');
  assert.equal(filterSql(rollup, { field: 'dst_k8s_namespace', values: [null] }), "`k_dst_k8s_namespace` IN ('')");
  assert.throws(() => filterSql(raw, { field: 'src_addr', op: 'cidr', values: ['nope'] }), /not an IPv4 or IPv6 network/);
});

test('query sql: the service port is computed from the two ports over the raw table and read as a key from a rollup, on both engines', async () => {
  assert.equal(fieldExpr(duckdbDialect([]), 'service_port'), 'least(coalesce("src_port", "dst_port"), coalesce("dst_port", "src_port"))');
  assert.equal(fieldExpr(duckdbDialect([], true), 'service_port'), '"service_port"');
  assert.equal(fieldExpr(clickhouseDialect(false, new Set()), 'service_port'), 'least(ifNull(`src_port`, `dst_port`), ifNull(`dst_port`, `src_port`))');
  assert.equal(fieldExpr(clickhouseDialect(true, new Set(['service_port'])), 'service_port'), '`k_service_port`');
  // ClickHouse rollups hold -1 for an absent service port: null in a filter is that value
  assert.equal(filterSql(clickhouseDialect(true, new Set(['service_port'])), { field: 'service_port', values: [443, null] }), '`k_service_port` IN (443, -1)');
  // the DuckDB expression on rows: lower port, the one present, or null
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    const rows = (await c.runAndReadAll(
      `SELECT ${fieldExpr(duckdbDialect([]), 'service_port')} AS p FROM (VALUES (51000, 443), (443, 51000), (NULL, 53), (8080, NULL), (NULL, NULL), (30080, 41000)) t("src_port", "dst_port")`,
    )).getColumnsJS()[0]!.map((v) => (v === null ? null : Number(v)));
    assert.deepEqual(rows, [443, 443, 53, 8080, null, 30080]);
  } finally {
    c.closeSync();
  }
});
