import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';

// ClickHouse started by `pnpm infra:up clickhouse` (Debian's 18.16 here; current servers elsewhere).
// The DDL below is the subset both accept: no query parameters, no LowCardinality without the flag.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

test('clickhouse: create a MergeTree table, insert JSONEachRow, aggregate it back', { skip }, async () => {
  const ch = createClient({ url: endpoints().clickhouseUrl, username: 'default', password: '' });
  const table = `smoke_${Date.now()}_${randomBytes(3).toString('hex')}`;
  try {
    assert.equal((await ch.ping()).success, true);
    const version = await (await ch.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>();
    assert.match(version[0]!.v, /^\d+\.\d+/);

    await ch.command({
      query: `CREATE TABLE ${table} (ts DateTime, tenant String, src UInt32, bytes UInt64)
              ENGINE = MergeTree() PARTITION BY toYYYYMMDD(ts) ORDER BY (tenant, ts)`,
    });
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      ts: `2026-04-16 10:${String(i % 60).padStart(2, '0')}:00`,
      tenant: i % 4 === 0 ? 't-a' : 't-b',
      src: 167772160 + i, // 10.0.0.0 + i: IPv4 as UInt32, since 18.16 has no IPv4 type
      bytes: i * 10,
    }));
    await ch.insert({ table, values: rows, format: 'JSONEachRow' });

    const rs = await ch.query({
      query: `SELECT tenant, count() AS n, sum(bytes) AS b, IPv4NumToString(min(src)) AS first
              FROM ${table} GROUP BY tenant ORDER BY tenant`,
      format: 'JSONEachRow',
    });
    const got = await rs.json<{ tenant: string; n: string | number; b: string | number; first: string }>();
    const expect = (t: string) => rows.filter((r) => r.tenant === t);
    assert.deepEqual(
      got.map((g) => [g.tenant, Number(g.n), Number(g.b), g.first]),
      ['t-a', 't-b'].map((t) => [t, expect(t).length, expect(t).reduce((s, r) => s + r.bytes, 0), t === 't-a' ? '10.0.0.0' : '10.0.0.1']),
    );
  } finally {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await ch.close();
  }
});
