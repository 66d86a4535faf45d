import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from './config.js';

const SECRET = 'enricher-dummy-password-never-print-7f3a';

test('a valid file gets its defaults', () => {
  const c = parseConfig({ kafka: { brokers: ['127.0.0.1:9092'] }, store: { engine: 'duckdb', path: '/tmp/x.duckdb' } }, 'x.json');
  assert.equal(c.kafka.group, 'sightline-enricher');
  assert.equal(c.enricher.historyHours, 24);
  assert.equal(c.enricher.metaWaitMs, 10_000);
  assert.deepEqual(c.http, { host: '127.0.0.1', port: 9465 });
});

test('invalid fields are reported with their paths and the file, never with the password', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sl-enricher-cfg-'));
  const file = path.join(dir, 'bad.json');
  await writeFile(file, JSON.stringify({
    kafka: { brokers: ['no-port'], group: '' },
    store: { engine: 'clickhouse', url: 'not a url', database: 'bad-name', password: SECRET },
    enricher: { metaWaitMs: -1, clusters: [{ tenant: 'Acme', cluster: 'eks' }] },
    extra: true,
  }));
  await assert.rejects(loadConfig(file), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    for (const where of ['kafka.brokers[0]', 'kafka.group', 'store.url', 'store.database', 'enricher.metaWaitMs', 'enricher.clusters[0].tenant']) {
      assert.ok(err.message.includes(`${where}:`), `${where} reported in:\n${err.message}`);
    }
    assert.ok(err.message.startsWith(file), 'names the file');
    assert.ok(!err.message.includes(SECRET), 'no password in the error');
    return true;
  });
  await writeFile(file, '{ not json');
  await assert.rejects(loadConfig(file), /bad\.json: invalid enricher configuration:\n {2}not valid JSON: unexpected character at line 1, column 3 \(.*bad\.json:1:3\)/);
  // A password without its quotes: JSON.parse's message quotes the text around it ("...assword": enricher-d"...).
  const text = `{\n  "store": {"engine": "clickhouse", "url": "http://ch:8123", "database": "d", "password": ${SECRET}}\n}\n`;
  await writeFile(file, text);
  await assert.rejects(loadConfig(file), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.message.includes(`not valid JSON: unexpected character at line 2, column ${text.split('\n')[1]!.indexOf(SECRET) + 1} `), err.message);
    assert.ok(!err.message.includes(SECRET.slice(0, 10)), `no part of the password (V8 quotes its first 10 characters) in: ${err.message}`);
    return true;
  });
  await assert.rejects(loadConfig(path.join(dir, 'missing.json')), /missing\.json: invalid enricher configuration:\n {2}cannot read the file: ENOENT/);
});

test("the store section is the one every service reads: the api's fields (connections, memoryLimit) are accepted here too", () => {
  const duck = parseConfig({ kafka: { brokers: ['127.0.0.1:9092'] }, store: { engine: 'duckdb', path: '/tmp/x.duckdb', connections: 4, memoryLimit: '512MB' } }, 'x.json');
  assert.deepEqual(duck.store, { engine: 'duckdb', path: '/tmp/x.duckdb', connections: 4, memoryLimit: '512MB' });
  const ch = parseConfig({
    kafka: { brokers: ['127.0.0.1:9092'] },
    store: { engine: 'clickhouse', url: 'https://ch:8443', database: 'd', passwordFile: '/run/pw', tls: { caFile: '/ca' }, cluster: 'c', lowCardinality: false },
  }, 'x.json');
  assert.equal(ch.store.engine, 'clickhouse');
  assert.throws(() => parseConfig({ kafka: { brokers: ['127.0.0.1:9092'] }, store: { engine: 'duckdb', path: '/x', memoryLimit: 'lots' } }, 'x.json'), /store\.memoryLimit: a size such as 1GB/);
});
