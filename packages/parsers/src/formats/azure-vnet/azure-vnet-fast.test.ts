import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VnetFastReader } from './azure-vnet-fast.js';
import { createAzureVnetParser } from './azure-vnet.js';
import { RecordsScanner } from '../azure-shared/azure-records.js';
import { newStats, type ParseContext, type ParseIssue, type StreamParser } from '../../types.js';

const dir = new URL('../../testdata/azure/', import.meta.url);
const file = (name: string) => readFileSync(new URL(name, dir));

const fastParser = createAzureVnetParser();
const generalParser = createAzureVnetParser({ fastPath: false });

/** Every row as NDJSON, every issue and the stats: what a caller can observe. */
async function observe(parser: StreamParser, buf: Uint8Array, chunk: number, batchCapacity: number) {
  const issues: ParseIssue[] = [];
  const ctx: ParseContext = { source: 'PT1H.json', stats: newStats(), batchCapacity, onIssue: (i) => issues.push(i) };
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

/** The records of a blob as byte ranges. */
function records(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const s = new RecordsScanner('t', (bytes) => out.push(bytes.slice()), () => {});
  s.push(buf);
  s.end();
  return out;
}

for (const name of ['vnet.json', 'vnet-prefix.json', 'vnet-edge.json']) {
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

test('the real samples are read by the fast reader, not declined', () => {
  const r = new VnetFastReader();
  for (const name of ['vnet.json', 'vnet-prefix.json']) {
    const recs = records(file(name));
    assert.ok(recs.length > 0);
    for (const rec of recs) assert.equal(r.read(rec), true, `${name}: ${Buffer.from(rec).toString('utf8', 0, 80)}`);
  }
});

test('edge records: the usual shapes are read, everything unusual is declined', () => {
  const r = new VnetFastReader();
  const got = records(file('vnet-edge.json')).map((rec) => r.read(rec));
  // see the generator comments in the file order: 2 read, escapes, unknown key, null mac + non-ASCII rule,
  // float version, bad time (declined so the general code words the error), null time, version string,
  // non-string tuple, duplicate key, NSG category, flowRecords without flows, control character, 04
  assert.deepEqual(got, [true, true, false, false, true, true, false, false, false, false, false, false, false, false, false]);
});

test('tuples outside the fast grammar are staged for the general code; fast ones carry their values', () => {
  const r = new VnetFastReader();
  const rec = records(file('vnet-edge.json'))[0]!;
  assert.equal(r.read(rec), true);
  const o = r.out;
  assert.equal(o.groups, 4);
  assert.deepEqual([...o.groupEnd.subarray(0, 4)], [3, 16, 16, 17]);
  assert.deepEqual([o.groupAcl.slice(0, 4), o.groupRule.slice(0, 4)], [['a1', 'a1', 'a2', 'a2'], ['r1', 'r2', null, null]]);
  // the 13 odd tuples of group r2 all go to the general code
  assert.deepEqual([...o.slow.subarray(0, 17)], [0, 0, 0, ...new Array<number>(13).fill(1), 0]);
  assert.deepEqual([o.ts[0], o.ts[1], o.src[1], o.dst[1], o.sport[1], o.dport[1], o.proto[1], o.dir[1], o.state[1], o.enc[1]], [1709633101000, 1709633101000, '10.224.0.34', '10.224.1.17', 41823, 7070, 17, 73, 66, 2]);
  assert.deepEqual([o.pSD[0], o.bSD[0], o.pDS[0], o.bDS[0]], [120, 48213, 118, 391044]);
  assert.ok([o.pSD[1], o.bSD[1], o.pDS[1], o.bDS[1]].every(Number.isNaN));
});

test('mutated records (seeded byte flips, cuts and insertions): the fast path still matches the general path', async () => {
  const recs = records(file('vnet.json')).concat(records(file('vnet-edge.json')).slice(0, 2));
  const alphabet = Buffer.from('{}[]":,\\ \t0123456789-.eEnulltruefalseIOBCEDXN\u00e9\x01');
  let rnd = 7;
  const next = (n: number) => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return (rnd >>> 8) % n;
  };
  const out: Buffer[] = [Buffer.from(recs[0]!)];
  for (let i = 0; i < 600; i++) {
    const b = Buffer.from(recs[next(recs.length)]!);
    const at = next(b.length);
    const op = next(3);
    const c = alphabet.subarray(next(alphabet.length)).subarray(0, 1);
    out.push(op === 0 ? Buffer.concat([b.subarray(0, at), c, b.subarray(at + 1)]) : op === 1 ? Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + next(8))]) : Buffer.concat([b.subarray(0, at), c, b.subarray(at)]));
  }
  const buf = Buffer.concat([Buffer.from('{"records":['), ...out.flatMap((b, i) => (i === 0 ? [b] : [Buffer.from(','), b])), Buffer.from(']}')]);
  const fast = await observe(fastParser, buf, 65536, 64);
  const general = await observe(generalParser, buf, 65536, 64);
  assert.ok(fast.rows.length > 300 && fast.issues.length > 50, `${fast.rows.length} rows, ${fast.issues.length} issues`);
  assert.deepEqual(fast, general);
});
