import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClickHouseStore } from './clickhouse-store.js';
import { clickhouseLoggerClass, type StoreLogger } from './clickhouse-log.js';

// No server needed: the client checks its configuration (and warns) when it is created.
test('ClickHouse client messages go to the store logger as structured fields, never to the console', async () => {
  const got: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const log: StoreLogger = {
    debug: (obj, msg) => got.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => got.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => got.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => got.push({ level: 'error', obj, msg }),
  };
  const printed: unknown[][] = [];
  const saved = { warn: console.warn, error: console.error, info: console.info, log: console.log };
  console.warn = console.error = console.info = console.log = (...a: unknown[]) => { printed.push(a); };
  let store: ClickHouseStore;
  try {
    store = ClickHouseStore.open({ url: 'http://127.0.0.1:8123', database: 'never_used', password: 'not-in-any-line' }, { log });
  } finally {
    Object.assign(console, saved);
  }
  await store.close();
  assert.deepEqual(printed, [], 'nothing on the console');
  // the client warns that request_timeout (120 s) is above 60 s without progress headers
  const w = got.find((g) => g.level === 'warn' && /request_timeout/.test(g.msg));
  assert.ok(w, `the config warning reached the logger: ${JSON.stringify(got)}`);
  assert.equal(w.obj.module, 'Config');
  assert.ok(!JSON.stringify(got).includes('not-in-any-line'), 'no password in what was logged');
});

test('a request the store aborted (deadline, client gone) is logged at debug, a real request error at error', () => {
  const got: { level: string; msg: string }[] = [];
  const push = (level: string) => (_obj: Record<string, unknown>, msg: string) => got.push({ level, msg });
  const Cls = clickhouseLoggerClass({ debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') });
  const l = new Cls();
  const abort = new Error('The operation was aborted');
  abort.name = 'AbortError';
  l.error({ module: 'Connection', message: 'Query: HTTP request error.', err: abort });
  l.error({ module: 'Connection', message: 'Query: HTTP request error.', err: new Error('The user aborted a request.') });
  l.error({ module: 'Connection', message: 'Query: HTTP request error.', err: new Error('connect ECONNREFUSED 127.0.0.1:8123') });
  assert.deepEqual(got.map((g) => g.level), ['debug', 'debug', 'error']);
});
