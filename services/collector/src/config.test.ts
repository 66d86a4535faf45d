import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfig, parseConfig, sourceId } from './config.js';

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
  assert.equal(sourceId(c.sources[0]!), 'acme/aws/123456789012/us-east-1/acme-flow-logs/');
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
  assert.match(text, /kafka: .*brokerz/);
  assert.throws(() => parseConfig('{"kafka": ', 'c.json'), /c\.json: invalid collector configuration:\n {2}not valid JSON/);
});
