import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FlowBatch } from '@sightline/flow';
import { GcpFastReader, rfc3339Bytes } from './gcp-json-fast.js';
import { createGcpJsonParser } from './gcp-json.js';
import { GcpCols } from './gcp-cols.js';
import { parseRfc3339Ms } from '../../core/time.js';
import { newStats, type ParseContext, type ParseIssue, type StreamParser } from '../../types.js';

const dir = new URL('../../testdata/gcp/', import.meta.url);
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

test('times read from bytes equal parseRfc3339Ms, or defer to it (NaN)', () => {
  const p2 = (x: number) => String(x).padStart(2, '0');
  let rnd = 12345;
  const next = (n: number) => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return rnd % n;
  };
  const samples = ['2019-06-14T03:45:37.301953198Z', '2024-02-31T23:59:60Z', '2024-03-05T10:14:02+01:30', '2024-03-05t10:14:02z', '2024-03-05 10:14:02Z', '0099-01-01T00:00:00Z', '2024-03-05T10:14:02.Z', '2024-03-05T10:14:02', '2024-13-05T10:14:02Z', '20x4-03-05T10:14:02Z'];
  for (let i = 0; i < 20000; i++) {
    const frac = next(3) === 0 ? '' : `.${String(next(1e9)).slice(0, 1 + next(9))}`;
    samples.push(`${String(next(10000)).padStart(4, '0')}-${p2(next(14))}-${p2(next(33))}T${p2(next(25))}:${p2(next(61))}:${p2(next(62))}${frac}Z`);
  }
  let fromBytes = 0;
  for (const s of samples) {
    const b = Buffer.from(`"${s}"`);
    const t = rfc3339Bytes(b, 1, b.length - 1);
    if (Number.isNaN(t)) continue;
    fromBytes++;
    assert.equal(t, parseRfc3339Ms(s), s);
  }
  assert.ok(fromBytes > 5000, `only ${fromBytes} read from bytes`);
});

test('mutated lines (seeded byte flips, cuts and insertions): the fast path still matches the general path', async () => {
  const good = lines(file('vpc_flows.ndjson')).concat(lines(file('edge.ndjson')).slice(0, 6));
  const alphabet = Buffer.from('{}[]":,\\ \t0123456789-.eEnulltruefalseSRCDEST\u00e9\x01\x7f');
  let rnd = 99;
  const next = (n: number) => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return (rnd >>> 8) % n;
  };
  const out: Buffer[] = [];
  for (let i = 0; i < 1500; i++) {
    const b = Buffer.from(good[next(good.length)]!);
    const at = next(b.length);
    const op = next(3);
    const c = alphabet.subarray(next(alphabet.length)).subarray(0, 1);
    out.push(op === 0 ? Buffer.concat([b.subarray(0, at), c, b.subarray(at + 1)]) : op === 1 ? Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + next(8))]) : Buffer.concat([b.subarray(0, at), c, b.subarray(at)]));
  }
  // a good line first, so the input is not rejected as a whole
  const buf = Buffer.concat([Buffer.from(good[0]! + '\n'), ...out.flatMap((b) => [b, Buffer.from('\n')])]);
  const fast = await observe(fastParser, buf, 65536, 64);
  const general = await observe(generalParser, buf, 65536, 64);
  assert.ok(fast.rows.length > 100 && fast.issues.length > 100, `${fast.rows.length} rows, ${fast.issues.length} issues`);
  assert.deepEqual(fast, general);
});
