import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseObject, type ObjectInput } from './parse-object.js';
import { NoRecordsError, ParseError, newStats, type ParseContext, type ParseIssue, type ParseStats } from './types.js';

/**
 * parseObject's object-level verdict: an object read to its end that gave errors and no flow
 * at all is a NoRecordsError (a ParseError, so every caller treats it as a bad object), not a
 * success with zero flows. Empty Azure records are such errors, counted without a slow path.
 */

const input = (name: string, text: string): ObjectInput => ({ name, open: () => (async function* () { yield Buffer.from(text); })() });

async function run(name: string, text: string, stats: ParseStats = newStats()) {
  const issues: ParseIssue[] = [];
  const ctx: ParseContext = { source: `az://c/${name}`, stats, onIssue: (i) => issues.push(i) };
  let rows = 0;
  let error: unknown;
  try {
    for await (const b of parseObject(input(name, text), ctx)) rows += b.length;
  } catch (err) {
    error = err;
  }
  return { rows, issues, stats, error };
}

const EMPTY = 10_000;
const empties = `{"records":[${Array<string>(EMPTY).fill('{}').join(',')}]}`;

test('an Azure blob of empty records only: every record a counted error, then NoRecordsError naming the object and the first error', async () => {
  const { rows, issues, stats, error } = await run('insights-logs-flowlogflowevent/PT1H.json', empties);
  assert.equal(rows, 0);
  assert.equal(stats.errors, EMPTY);
  assert.equal(issues.length, EMPTY);
  assert.equal(issues[0]!.message, 'empty record {}: skipped');
  assert.ok(error instanceof NoRecordsError, String(error));
  assert.ok(error instanceof ParseError);
  assert.equal(error.errors, EMPTY);
  assert.equal(error.offset, 12, 'where the first bad record starts');
  assert.deepEqual([...error.raw!], [...Buffer.from('{}')], 'its bytes are kept for a dead letter');
  assert.match(error.message, /^az:\/\/c\/insights-logs-flowlogflowevent\/PT1H\.json byte 12: no flow record, 10000 bad lines or records; the first: empty record/);
});

test('empty records among good ones are errors; the object is read and is no NoRecordsError', async () => {
  const good = '{"time":"2024-03-05T10:00:00Z","resourceId":"/SUBSCRIPTIONS/AB/RESOURCEGROUPS/RG/x","properties":{"Version":2,"flows":[{"rule":"r","flows":[{"mac":"M","flowTuples":["1709632800,10.0.0.1,10.0.0.2,1,2,T,I,A,B,,,,"]}]}]}}';
  const { rows, stats, error } = await run('PT1H.json', `{"records":[{},${good},{ \n }]}`);
  assert.equal(error, undefined);
  assert.equal(rows, 1);
  assert.equal(stats.errors, 2);
});

test('all lines bad in AWS and GCP objects, and errors counted with a stats object shared across objects', async () => {
  const header = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
  const aws = await run('x.log', `${header}\n2 1 eni-1 10.0.0.1\nnot a line\n`);
  assert.ok(aws.error instanceof NoRecordsError, String(aws.error));
  assert.equal(aws.error.line, 2);
  // NODATA only: no flow, but no error either: an empty interval, not a bad object
  const nodata = await run('y.log', `${header}\n2 1 eni-1 - - - - - - - 1700000000 1700000060 - NODATA\n`);
  assert.equal(nodata.error, undefined);
  // NODATA and SKIPDATA lines are good lines: with a bad line among them the object is still readable
  const quiet = await run('q.log', `${header}\n2 1 eni-1 - - - - - - - 1700000000 1700000060 - NODATA\n2 1 eni-1 - - - - - - - 1700000000 1700000060 - SKIPDATA\nnot a line\n`);
  assert.equal(quiet.error, undefined, String(quiet.error));
  assert.deepEqual([quiet.stats.nodata, quiet.stats.skipdata, quiet.stats.errors], [1, 1, 1]);
  // a shared stats object that already holds records from an earlier object does not hide this one's
  const shared = newStats();
  shared.records = 5;
  const again = await run('z.log', `${header}\nbad\n`, shared);
  assert.ok(again.error instanceof NoRecordsError, String(again.error));
  const gcp = await run('vpc_flows.json', '{"jsonPayload":{"connection":{"src_ip":"10.0.0.1"}}}\n');
  assert.ok(gcp.error instanceof ParseError, String(gcp.error));
});
