import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { createGcpJsonParser } from '../formats/gcp-vpc-json/gcp-json.js';
import { parseAzureNsg } from '../formats/azure-nsg/azure-nsg.js';
import { parseAzureVnet } from '../formats/azure-vnet/azure-vnet.js';
import { parseObject } from '../parse-object.js';
import { newStats, type ParseContext, type ParseIssue, type StreamParser } from '../types.js';

/**
 * A line or record nested 10,000 deep is one bad line or record, with its position, and the
 * rest of the object is read. Before the bound, JSON.parse read it fine and what ran on the
 * value afterwards recursed (JSON.stringify of an unknown GCP payload field or of a non-string
 * Azure tuple, the NSG reader's nested `records`): `Maximum call stack size exceeded`, no line
 * number, and the whole object failed with 0 records.
 */

const D = 10_000;
const deepArray = '['.repeat(D) + ']'.repeat(D);
const deepObject = '{"a":'.repeat(D) + '1' + '}'.repeat(D);
const td = (p: string) => readFileSync(new URL(`../testdata/${p}`, import.meta.url), 'utf8');

async function run(parser: StreamParser, text: string, chunk = 4096) {
  const issues: ParseIssue[] = [];
  const ctx: ParseContext = { source: 'deep', stats: newStats(), onIssue: (i) => issues.push(i) };
  const buf = Buffer.from(text);
  async function* src() {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  }
  let rows = 0;
  for await (const b of parser(src(), ctx)) rows += b.length;
  return { rows, issues, stats: ctx.stats };
}

test('nestsDeeperThan counts brackets outside strings only', () => {
  const b = (s: string) => Buffer.from(s);
  const at = (s: string, max: number) => nestsDeeperThan(b(s), 0, b(s).length, max);
  assert.equal(at('{"a":[[1]]}', 3), false);
  assert.equal(at('{"a":[[[1]]]}', 3), true);
  assert.equal(at('{"a":"[[[[[[[[\\"[[[["}', 1), false, 'brackets and escaped quotes inside a string');
  assert.equal(at('{"a":"\\\\"}', 1), false, 'an escaped backslash ends before the closing quote');
  assert.equal(at(deepArray, MAX_JSON_DEPTH), true);
});

// GCP: the real sample lines with a deep line as line 3, in three places of the LogEntry
const gcpLines = td('gcp/vpc_flows.ndjson').trimEnd().split('\n');
const gcpDeep = {
  'an unknown jsonPayload field (went to JSON.stringify for the extras)': gcpLines[0]!.replace('"jsonPayload":{', `"jsonPayload":{"labels":${deepArray},`),
  'an unknown top-level field': gcpLines[0]!.replace('{"insertId"', `{"trace":${deepObject},"insertId"`),
  'connection.src_ip': gcpLines[0]!.replace('"src_ip":"10.87.40.76"', `"src_ip":${deepArray}`),
  'the whole line': deepArray,
};

for (const [where, deep] of Object.entries(gcpDeep)) {
  for (const fastPath of [true, false]) {
    test(`GCP line nested ${D} deep in ${where} (${fastPath ? 'fast' : 'general'} path): one bad line 3, every other line read`, async () => {
      const text = [gcpLines[0], gcpLines[1], deep, ...gcpLines.slice(2)].join('\n') + '\n';
      const { rows, issues, stats } = await run(createGcpJsonParser({ fastPath }), text);
      assert.equal(rows, gcpLines.length, 'every good line gives its record');
      assert.equal(stats.errors, 1);
      assert.equal(issues.length, 1);
      assert.equal(issues[0]!.line, 3);
      assert.equal(issues[0]!.offset, gcpLines[0]!.length + gcpLines[1]!.length + 2);
      assert.match(issues[0]!.message, new RegExp(`nesting deeper than ${MAX_JSON_DEPTH} levels`));
    });
  }
}

test('GCP: a deep line through parseObject (the CLI and collector path) leaves the object readable', async () => {
  const text = [gcpLines[0], gcpDeep['an unknown jsonPayload field (went to JSON.stringify for the extras)'], ...gcpLines.slice(1)].join('\n') + '\n';
  const issues: ParseIssue[] = [];
  const ctx: ParseContext = { source: 'gs://b/vpc_flows/10:00:00_10:59:59_S0.json', stats: newStats(), onIssue: (i) => issues.push(i) };
  let rows = 0;
  for await (const b of parseObject({ name: 'vpc_flows/10:00:00_10:59:59_S0.json', open: () => (async function* () { yield Buffer.from(text); })() }, ctx)) rows += b.length;
  assert.equal(rows, gcpLines.length);
  assert.deepEqual(issues.map((i) => [i.line, /nesting deeper than/.test(i.message)]), [[2, true]]);
});

// Azure: the real sample records with a deep record as the second one
type Doc = { records: Record<string, unknown>[] };
const nsg = (JSON.parse(td('azure/nsg-v2.json')) as Doc).records.map((r) => JSON.stringify(r));
const vnet = (JSON.parse(td('azure/vnet.json')) as Doc).records.map((r) => JSON.stringify(r));
const azureCases: [string, StreamParser, string[], string][] = [
  ['NSG, records nested in records (the reader recursed into them)', parseAzureNsg, nsg, '{"records":['.repeat(D) + ']}'.repeat(D)],
  ['NSG, a non-string tuple (JSON.stringify for the message)', parseAzureNsg, nsg, nsg[0]!.replace('"flowTuples":[', `"flowTuples":[${deepArray},`)],
  ['NSG, an unknown field', parseAzureNsg, nsg, nsg[0]!.replace('{"time"', `{"x":${deepObject},"time"`)],
  ['VNet, a non-string tuple (JSON.stringify for the message)', parseAzureVnet, vnet, vnet[0]!.replace('"flowTuples":[', `"flowTuples":[${deepArray},`)],
  ['VNet, an unknown field', parseAzureVnet, vnet, vnet[0]!.replace('{"time"', `{"x":${deepObject},"time"`)],
];

for (const [name, parser, records, deep] of azureCases) {
  test(`Azure ${name}, ${D} deep: one bad record at its offset, every other record read`, async () => {
    const good = await run(parser, `{"records":[${records.join(',')}]}`);
    assert.ok(good.rows > 0);
    const head = `{"records":[${records[0]},`;
    const { rows, issues, stats } = await run(parser, `${head}${deep},${records.slice(1).join(',')}]}`);
    assert.equal(rows, good.rows, 'the good records give every row');
    assert.equal(stats.errors, 1);
    assert.equal(issues[0]!.offset, head.length);
    assert.match(issues[0]!.message, new RegExp(`nesting deeper than ${MAX_JSON_DEPTH} levels`));
    assert.ok(issues[0]!.raw!.length <= 64 * 1024, 'the raw bytes kept are capped');
  });
}
