import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FlowBatch } from '@sightline/flow';
import { GcpFastReader } from './gcp-json-fast.js';
import { createGcpJsonParser, GcpCols } from './gcp-json.js';
import { newStats, type ParseContext, type ParseIssue, type StreamParser } from './types.js';

const dir = new URL('./testdata/gcp/', import.meta.url);
const file = (name: string) => readFileSync(new URL(name, dir));

const fastParser = createGcpJsonParser();
const generalParser = createGcpJsonParser({ fastPath: false });

/** Every row as NDJSON, every issue and the stats: what a caller can observe. */
async function observe(parser: StreamParser, buf: Uint8Array, chunk: number, batchCapacity: number) {
  const issues: ParseIssue[] = [];
  const ctx: ParseContext = { source: 'vpc_flows.json', stats: newStats(), batchCapacity, onIssue: (i) => issues.push(i) };
  async function* src() {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  }
  const rows: string[] = [];
  const sizes: number[] = [];
  for await (const b of parser(src(), ctx)) {
    sizes.push(b.length);
    for (let i = 0; i < b.length; i++) rows.push(b.jsonLine(i));
  }
  return { rows, sizes, issues, stats: ctx.stats };
}

const lines = (buf: Buffer) => buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');

for (const name of ['vpc_flows.ndjson', 'bad.ndjson', 'edge.ndjson']) {
  test(`${name}: the fast path gives the same rows, issues and stats as the general path`, async () => {
    const buf = file(name);
    for (const [chunk, cap] of [[65536, 8192], [7, 3], [1, 2]] as const) {
      const fast = await observe(fastParser, buf, chunk, cap);
      const general = await observe(generalParser, buf, chunk, cap);
      assert.ok(fast.rows.length > 0);
      assert.deepEqual(fast, general, `chunk ${chunk}, capacity ${cap}`);
    }
  });
}

/** Which lines the fast reader takes (true) and which it leaves to JSON.parse (false). */
function decisions(name: string): boolean[] {
  const r = new GcpFastReader();
  return lines(file(name)).map((l) => {
    const b = Buffer.from(l.replace(/\r$/, ''));
    return r.read(b, 0, b.length, new GcpCols(new FlowBatch(1)), 0);
  });
}

test('the real sample lines are read by the fast reader, except the one with new payload keys (extras)', () => {
  const got = decisions('vpc_flows.ndjson');
  assert.equal(got.length, 8);
  assert.equal(got.filter((x) => x).length, 7);
  assert.match(lines(file('vpc_flows.ndjson'))[got.indexOf(false)]!, /"dscp"/);
});

test('edge lines: usual shapes are read, anything unusual or wrong is left to JSON.parse', () => {
  const got = decisions('edge.ndjson');
  const expected = [
    true, true, true, // sample, reordered with whitespace, padded with tabs and CR
    true, true, true, // nulls, numbers as strings, negative and zero-padded
    false, false, false, false, false, // 6.0, 6e0, 06, 17-digit string, 19-digit number
    false, false, true, true, // escaped quote, \u escape: declined; raw UTF-8 values: read
    true, false, false, false, false, false, false, // unknown top-level value; bad JSON inside it; too deep
    false, true, false, // payload extra (dscp), unknown connection key (ignored), duplicate key
    false, false, false, true, false, false, // missing connection / protocol, bad IP, IPv6, port, protocol range
    true, true, false, false, // time with space, with offset, bad time, time as number
    true, true, false, false, // services with nulls and gaps, empty; wrong service shapes
    true, true, true, // project fall-backs
    true, true, false, // labels null, labels with extra, resource a string
    true, false, true, false, false, // location, asn 1.5, mig, mig a string, instance an array
    false, false, false, true, // trailing x, trailing }, unquoted key, spaces around , and :
    false, false, true, false, true, true, true, true, // {}, null, minimal, __proto__ payload key, __proto__ top, -0, "-0", literals
    true, // last line without newline
  ];
  assert.equal(got.length, expected.length);
  assert.deepEqual(got, expected);
});
