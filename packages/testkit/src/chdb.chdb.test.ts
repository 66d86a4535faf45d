import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { ChdbError, ChdbSession, chdbTestOptions, startChdbHttp, type ChdbHttp } from './chdb.js';

/**
 * The chDB runner the current-engine tests stand on: a session keeps its state, answers in order,
 * reports errors as the engine's own, applies settings to one statement only, and inserts raw
 * bytes in an input format; the HTTP adapter serves the official client. With CI=true a missing
 * chDB fails here (chdbTestOptions does not skip there).
 */

const opts = chdbTestOptions();
let opened: Promise<{ s: ChdbSession; http: ChdbHttp }> | undefined;
const env = (): Promise<{ s: ChdbSession; http: ChdbHttp }> =>
  (opened ??= ChdbSession.open().then(async (s) => ({ s, http: await startChdbHttp(s) })));
after(async () => {
  if (!opened) return;
  const { s, http } = await opened;
  await http.close();
  await s.close();
  assert.ok(!existsSync(s.path), 'the session directory is removed at close');
});

test('chdb session: a current engine, state kept between statements, rows as objects', opts, async () => {
  const { s } = await env();
  assert.ok(Number(s.version.split('.')[0]) >= 24, `a current ClickHouse, got ${s.version}`);
  await s.query('CREATE DATABASE kit');
  await s.query('CREATE TABLE kit.t (a UInt32, b String) ENGINE = MergeTree ORDER BY a');
  await s.query("INSERT INTO kit.t VALUES (2, 'two'), (1, 'one')");
  assert.deepEqual(await s.rows('SELECT a, b FROM kit.t ORDER BY a'), [{ a: 1, b: 'one' }, { a: 2, b: 'two' }]);
  assert.equal((await s.query('SELECT count() FROM kit.t')).data.toString(), '2\n', 'TabSeparated when no format is named');
  // several requests in flight are answered each with its own result
  const many = await Promise.all([1, 2, 3, 4].map((i) => s.rows<{ x: number }>(`SELECT ${i} AS x`)));
  assert.deepEqual(many, [[{ x: 1 }], [{ x: 2 }], [{ x: 3 }], [{ x: 4 }]]);
});

test('chdb session: an error is the engine\'s own, with its code and the statement, and the session goes on', opts, async () => {
  const { s } = await env();
  const err = await s.query('SELECT no_such_column FROM kit.t').then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ChdbError);
  assert.equal(err.code, 47);
  assert.match(err.message, /Unknown expression identifier `no_such_column`.*statement: SELECT no_such_column FROM kit\.t/);
  assert.deepEqual(await s.rows('SELECT 1 AS ok'), [{ ok: 1 }]);
});

test('chdb session: settings apply to their statement only', opts, async () => {
  const { s } = await env();
  const mt = async (settings = {}) => (await s.rows<{ v: string }>("SELECT value AS v FROM system.settings WHERE name = 'max_threads'", settings))[0]?.v;
  const dflt = await mt();
  assert.equal(await mt({ max_threads: 1 }), '1');
  assert.equal(await mt({ read_overflow_mode: 'break' }), dflt, 'a string setting, and the earlier one reset');
  assert.equal(await mt(), dflt);
});

test('chdb session: RowBinary bytes insert as sent, with written rows counted through views', opts, async () => {
  const { s } = await env();
  await s.query('CREATE TABLE kit.n (n UInt64) ENGINE = SummingMergeTree ORDER BY tuple()');
  await s.query('CREATE MATERIALIZED VIEW kit.mv TO kit.n AS SELECT count() AS n FROM kit.t');
  // (7, 'seven'): UInt32 little-endian, then a varint length and the bytes
  const row = Buffer.concat([Buffer.from([7, 0, 0, 0, 5]), Buffer.from('seven')]);
  const r = await s.insert('INSERT INTO kit.t (a, b)', 'RowBinary', row);
  assert.equal(r.rowsWritten, 2, 'one row in t, one in the view\'s table');
  assert.deepEqual(await s.rows('SELECT b FROM kit.t WHERE a = 7'), [{ b: 'seven' }]);
  await assert.rejects(s.insert('INSERT INTO kit.t (a, b)', 'RowBinary', Buffer.from([1, 0])), ChdbError);
});

test('chdb http: statements in the body, INSERT data with the statement in the URL, settings as parameters, errors as the server gives them', opts, async () => {
  // the request shapes of the official client (query/command: the statement as the body; exec/insert:
  // ?query=INSERT … FORMAT F and the data as the body); the store's tests run the client itself
  const { http } = await env();
  const post = (params: Record<string, string>, body: string | Buffer) =>
    fetch(`${http.url}/?${new URLSearchParams({ query_id: 'q1', ...params })}`, { method: 'POST', body });
  const r1 = await post({}, 'SELECT a, b FROM kit.t ORDER BY a FORMAT JSONEachRow');
  assert.equal(r1.status, 200);
  assert.equal(r1.headers.get('x-clickhouse-query-id'), 'q1');
  assert.deepEqual((await r1.text()).trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ a: 1, b: 'one' }, { a: 2, b: 'two' }, { a: 7, b: 'seven' }]);
  const r2 = await post({ query: 'INSERT INTO kit.t (a, b) FORMAT TabSeparated', max_threads: '1' }, '10\tten\n');
  assert.equal(r2.status, 200);
  const summary = JSON.parse(r2.headers.get('x-clickhouse-summary') ?? '{}') as Record<string, string>;
  assert.equal(summary.written_rows, '2', 'the row and its view row, as X-ClickHouse-Summary counts them');
  const r3 = await post({ max_threads: '1' }, "SELECT value FROM system.settings WHERE name = 'max_threads'");
  assert.equal(await r3.text(), '1\n');
  const r4 = await post({}, 'DROP TABLE kit.no_such_table');
  assert.equal(r4.status, 500);
  assert.equal(r4.headers.get('x-clickhouse-exception-code'), '60');
  assert.match(await r4.text(), /^Code: 60\. DB::Exception: .*UNKNOWN_TABLE/);
  assert.ok(http.statements.includes('INSERT INTO kit.t (a, b) FORMAT TabSeparated'));
});
