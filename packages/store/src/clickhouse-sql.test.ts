import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { quoteIdent, quoteNumber, quoteString, tsvField } from './clickhouse-sql.js';

const NASTY = [
  '',
  'plain',
  "it's",
  "' OR '1'='1",
  "\\' OR 1=1 --",
  'back\\slash at end\\',
  'tab\tnew\nline\rcr',
  'nul\u0000byte and \u007f del',
  '\u00e9t\u00e9 \u{1f600} \u4e2d',
  "'); DROP TABLE x; --",
];

test('quoteString: the real server reads back exactly what was quoted', async () => {
  const c = createClient({ url: endpoints().clickhouseUrl });
  try {
    for (const s of NASTY) {
      const rs = await c.query({ query: `SELECT ${quoteString(s)} AS v`, format: 'JSONEachRow' });
      assert.deepEqual(await rs.json(), [{ v: s }], JSON.stringify(s));
    }
  } finally {
    await c.close();
  }
});

test('tsvField: the real server parses every escaped field back to the original', async () => {
  const c = createClient({ url: endpoints().clickhouseUrl });
  try {
    const rs = await c.query({
      query: `SELECT * FROM format(TabSeparated, 'v String', ${quoteString(NASTY.map(tsvField).join('\n') + '\n')})`,
      format: 'JSONEachRow',
    }).catch(() => null);
    // format() is newer than 18.16; there, round-trip through a Memory table instead
    if (rs === null) {
      const db = `sightline_tsv_${process.pid}`;
      await c.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
      try {
        await c.command({ query: `CREATE TABLE ${db}.t (i UInt32, v String) ENGINE = Memory` });
        const { Readable } = await import('node:stream');
        const body = NASTY.map((s, i) => `${i}\t${tsvField(s)}`).join('\n') + '\n';
        const r = await c.exec({ query: `INSERT INTO ${db}.t FORMAT TabSeparated`, values: Readable.from([body]) });
        r.stream.resume();
        await new Promise((ok) => r.stream.on('end', ok));
        const back = await (await c.query({ query: `SELECT v FROM ${db}.t ORDER BY i`, format: 'JSONEachRow' })).json<{ v: string }>();
        assert.deepEqual(back.map((x) => x.v), NASTY);
      } finally {
        await c.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      }
    } else {
      assert.deepEqual((await rs.json<{ v: string }>()).map((x) => x.v), NASTY);
    }
  } finally {
    await c.close();
  }
});

test('quoteIdent and quoteNumber refuse what they cannot make safe', () => {
  assert.equal(quoteIdent('flows_1m'), '`flows_1m`');
  assert.throws(() => quoteIdent('a`b'), /invalid ClickHouse identifier/);
  assert.throws(() => quoteIdent('x; DROP'), /invalid ClickHouse identifier/);
  assert.equal(quoteNumber(443), '443');
  assert.throws(() => quoteNumber(NaN), /not a finite number/);
  assert.throws(() => quoteNumber(Infinity), /not a finite number/);
});
