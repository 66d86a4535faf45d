import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ConfigError, jsonErrorOffset, legacySourceIds, lineColumn, loadConfig, parseConfig, sourceId } from './config.js';

const sample = new URL('./testdata/collector.json', import.meta.url).pathname;

function configError(text: string): ConfigError {
  try {
    parseConfig(text, 'c.json');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

test('the sample configuration loads with defaults filled in', async () => {
  const c = await loadConfig(sample);
  assert.equal(c.kafka.topicPrefix, 'sightline.');
  assert.equal(c.collector.workers, 2);
  assert.equal(c.collector.batchRows, 8192);
  assert.deepEqual(c.sources.map((s) => s.cloud), ['aws', 'gcp', 'azure']);
  assert.equal(sourceId(c.sources[0]!), 'acme/aws/123456789012/us-east-1/acme-flow-logs/#plain');
});

test('errors name the path of every bad field and what was expected, never the value', async () => {
  const doc = JSON.parse(await readFile(sample, 'utf8'));
  doc.sources[0].region = 'Mars-1';
  doc.sources[0].roleArn = 'TOPSECRET-not-an-arn';
  delete doc.sources[1].bucket;
  doc.sources[2].subscriptionId = 'TOPSECRET';
  doc.kafka.brokers = ['localhost'];
  doc.collector.workers = 0;
  const text = configError(JSON.stringify(doc)).message;
  for (const p of ['sources[0].region: an AWS region', 'sources[0].roleArn: an IAM role ARN', 'sources[1].bucket:',
    'sources[2].subscriptionId:', 'kafka.brokers[0]: host:port', 'collector.workers:']) {
    assert.ok(text.includes(p), `expected "${p}" in:\n${text}`);
  }
  assert.ok(text.startsWith('c.json:'), 'names the file');
  assert.ok(!text.includes('TOPSECRET'), 'no value in the message');
});

test('unknown cloud, unknown field, duplicate source and bad JSON are reported', async () => {
  const doc = JSON.parse(await readFile(sample, 'utf8'));
  const dup = structuredClone(doc);
  dup.sources.push({ ...doc.sources[0] });
  assert.throws(() => parseConfig(JSON.stringify(dup), 'c.json'), /sources\[3\]: same source as sources\[0\]/);
  doc.sources[1].cloud = 'ibm';
  doc.kafka.brokerz = [];
  const text = configError(JSON.stringify(doc)).message;
  assert.match(text, /sources\[1\]\.cloud: /);
  assert.match(text, /kafka\.brokerz: unknown key \(did you mean brokers\?\)/);
  assert.throws(() => parseConfig('{"kafka": ', 'c.json'), /c\.json: invalid collector configuration:\n {2}not valid JSON: the text ends early at line 1, column 11/);
});

test('an unknown key inside sources[] is refused with its path, and the key it was meant to be', async () => {
  const doc = JSON.parse(await readFile(sample, 'utf8'));
  // roleARN instead of roleArn: accepted before, and the role was silently not assumed.
  doc.sources[0].roleARN = doc.sources[0].roleArn;
  delete doc.sources[0].roleArn;
  doc.sources[2].containers = { nsg: 'insights-logs-networksecuritygroupflowevent', vnett: 'x-y-z' };
  doc.startup = { timeoutMS: 5000 };
  const text = configError(JSON.stringify(doc)).message;
  for (const p of ['sources[0].roleARN: unknown key (did you mean roleArn?)', 'sources[2].containers.vnett: unknown key (did you mean vnet?)', 'startup.timeoutMS: unknown key (did you mean timeoutMs?)']) {
    assert.ok(text.includes(p), `expected "${p}" in:\n${text}`);
  }
});

test('a JSON syntax error gives the file, line and column, never the text around it', () => {
  const SECRET = 'wJalrXUtnFEMI-TOPSECRET-K7MDENG';
  // A secret without its quotes: V8's message quotes the text around the error (`..."Key": wJalrXUtnF"...`).
  const text = `{\n  "kafka": {"brokers": ["k:9092"]},\n  "sources": [{"cloud": "aws", "staticCredentials": {"accessKeyId": "AKIA", "secretAccessKey": ${SECRET}}}]\n}\n`;
  let v8 = '';
  try { JSON.parse(text); } catch (e) { v8 = (e as Error).message; }
  assert.ok(v8.includes(SECRET.slice(0, 6)), `V8 quotes the text: ${v8}`);
  const msg = configError(text).message;
  const col = text.split('\n')[2]!.indexOf(SECRET) + 1;
  assert.ok(msg.includes(`not valid JSON: unexpected character at line 3, column ${col} (c.json:3:${col})`), msg);
  assert.ok(!msg.includes(SECRET.slice(0, 6)), `no neighbouring text in: ${msg}`);
  assert.ok(!msg.includes(v8), 'not the JSON.parse message');
  // The scanner agrees with JSON.parse on what is valid, and places errors where they are.
  for (const ok of ['{}', '[]', ' 1 ', '-0.5e+3', '"a\\u00e9\\n"', '{"a":[1,{"b":null}],"c":true}']) assert.equal(jsonErrorOffset(ok), undefined, ok);
  for (const [bad, at] of [['{', 1], ['{"a":1,}', 7], ['[1 2]', 3], ['01', 1], ['"a\tb"', 2], ['{"a" 1}', 5], ['', 0], ['tru', 0], ['{"a":1}x', 7]] as const) {
    assert.throws(() => JSON.parse(bad));
    assert.equal(jsonErrorOffset(bad), at, bad);
  }
  assert.deepEqual(lineColumn('ab\ncd\nef', 7), { line: 3, column: 2 });
});

test('a plain and a Hive-partitioned flow log of one account, region and bucket are two sources', async () => {
  const doc = JSON.parse(await readFile(sample, 'utf8'));
  doc.sources = [doc.sources[0], { ...doc.sources[0], layout: 'hive' }];
  const c = parseConfig(JSON.stringify(doc), 'c.json');
  assert.deepEqual(c.sources.map((s) => sourceId(s)), ['acme/aws/123456789012/us-east-1/acme-flow-logs/#plain', 'acme/aws/123456789012/us-east-1/acme-flow-logs/#hive']);
  assert.deepEqual(c.sources.map((s) => legacySourceIds(s)), [['acme/aws/123456789012/us-east-1/acme-flow-logs/'], ['acme/aws/123456789012/us-east-1/acme-flow-logs/']]);
});
