import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { FlowRecordSchema } from '@sightline/flow';
import { ROOT, rows, runCli, type Run } from './testdata/run-cli.js';

/**
 * The `sightline parse` contract, end to end through the built CLI (the same binary users run):
 * output shape, order, stats line, exit status, and the bad-input suite.
 */
const TD = path.join(ROOT, 'packages/parsers/src/testdata');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-'));
const run = (args: string[]) => runCli(['parse', ...args]);

interface StatsLine {
  files: number;
  records: number;
  nodata: number;
  skipdata: number;
  errors: number;
  incomplete: number;
}
const statsOf = (r: Run): StatsLine => {
  const last = r.stderr.trimEnd().split('\n').at(-1) ?? '';
  return JSON.parse(last) as StatsLine;
};
const write = (name: string, data: string | Buffer) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, data);
  return p;
};

const AWS_HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const awsLine = (i: number) => `2 123456789010 eni-0a1b2c3d4e5f60718 10.0.${i >> 8}.${i & 255} 10.1.0.7 ${40000 + i} 443 6 10 ${1000 + i} 1700000000 1700000060 ACCEPT OK`;

test('every good sample of every format parses to records that satisfy the row schema', async () => {
  const good = [
    ['aws/default-v2.log.gz', 'aws'], ['aws/custom-v5.log', 'aws'], ['aws/ecs-v7.log', 'aws'], ['aws/reject-v8.log', 'aws'],
    ['aws/tcp-flags-v3.log', 'aws'], ['aws/transit-gateway.log', 'aws'],
    ['gcp/vpc_flows.ndjson', 'gcp'], ['azure/nsg-v1.json', 'azure'], ['azure/nsg-v2.json', 'azure'], ['azure/vnet.json', 'azure'],
  ] as const;
  for (const [file, cloud] of good) {
    const r = await run(['--stats', path.join(TD, file)]);
    assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    const recs = rows(r);
    assert.ok(recs.length > 0, `${file} gave no records`);
    assert.equal(statsOf(r).records, recs.length, file);
    for (const rec of recs) {
      const parsed = FlowRecordSchema.safeParse(rec);
      assert.ok(parsed.success, `${file}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3))}`);
      assert.equal(rec.cloud, cloud);
      for (const k of ['src_addr', 'dst_addr', 'src_port', 'dst_port', 'protocol', 'packets', 'bytes', 'packets_src_to_dst', 'bytes_src_to_dst', 'packets_dst_to_src', 'bytes_dst_to_src', 'start', 'end', 'action', 'direction']) {
        assert.ok(k in rec, `${file}: field ${k} missing`);
      }
    }
  }
});

test('AWS records come out in line order, and stats count NODATA and SKIPDATA apart', async () => {
  const lines = [AWS_HEADER, awsLine(1), '2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000060 - NODATA', awsLine(2),
    '2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000060 - SKIPDATA', awsLine(3)];
  const f = write('order.log', lines.join('\n') + '\n');
  const r = await run(['--stats', f]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(rows(r).map((x) => x.src_port), [40001, 40002, 40003]);
  assert.deepEqual(statsOf(r), { files: 1, records: 3, nodata: 1, skipdata: 1, errors: 0, incomplete: 0 });
});

test('the stats line is the last line of stderr and has exactly the documented keys', async () => {
  const r = await run(['--stats', '--output', 'none', path.join(TD, 'aws/bad-lines.log')]);
  assert.equal(r.stdout, '');
  const s = statsOf(r);
  assert.deepEqual(Object.keys(s), ['files', 'records', 'nodata', 'skipdata', 'errors', 'incomplete']);
  assert.ok(s.errors > 0);
  assert.match(r.stderr, /bad-lines\.log:\d+: /, 'bad lines are reported with file and line number');
});

test('a missing file is reported by name with a non-zero exit, after the other files were processed', async () => {
  const good = write('good.log', [AWS_HEADER, awsLine(7)].join('\n') + '\n');
  const missing = path.join(tmp, 'nope.log.gz');
  const r = await run(['--stats', missing, good]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /nope\.log\.gz.*no such file/);
  assert.equal(rows(r).length, 1);
  assert.equal(statsOf(r).files, 1);
});

test('bad input suite: each case gives a clear error naming the file, no crash, and the good files still parse', async () => {
  const good = write('good2.log', [AWS_HEADER, awsLine(9)].join('\n') + '\n');
  const full = zlib.gzipSync(Buffer.from([AWS_HEADER, ...Array.from({ length: 5000 }, (_, i) => awsLine(i))].join('\n') + '\n'));
  const cases: Record<string, { file: string; expect: RegExp }> = {
    truncatedGzip: { file: write('truncated.log.gz', full.subarray(0, Math.floor(full.length / 2))), expect: /truncated\.log\.gz.*(unexpected end|truncated|corrupt)/i },
    garbage: { file: write('garbage.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 255))), expect: /garbage\.bin.*not a flow log/i },
    corruptGzip: { file: write('corrupt.log.gz', Buffer.concat([full.subarray(0, 20), Buffer.alloc(200, 0x55), full.subarray(220)])), expect: /corrupt\.log\.gz/ },
    wrongHeader: { file: write('wrong-header.log', 'foo bar baz\n1 2 3\n'), expect: /wrong-header\.log.*not a flow log/i },
    missingHeader: { file: write('no-header.log', awsLine(1) + '\n' + awsLine(2) + '\n'), expect: /no-header\.log.*not a flow log/i },
    empty: { file: write('empty.log', ''), expect: /empty\.log.*empty/i },
  };
  for (const [name, c] of Object.entries(cases)) {
    const r = await run(['--stats', c.file, good]);
    assert.notEqual(r.code, 0, `${name} should fail the run`);
    assert.match(r.stderr, c.expect, `${name}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${name} printed a stack trace`);
    const recs = rows(r);
    assert.equal(recs.at(-1)?.src_port, 40009, `${name}: the good file after it was not parsed`);
  }
});

test('a truncated gzip still yields the records before the cut', async () => {
  const full = zlib.gzipSync(Buffer.from([AWS_HEADER, ...Array.from({ length: 20000 }, (_, i) => awsLine(i))].join('\n') + '\n'));
  const f = write('cut.log.gz', full.subarray(0, Math.floor(full.length * 0.8)));
  const r = await run(['--stats', '--output', 'none', f]);
  assert.notEqual(r.code, 0);
  const records = statsOf(r).records;
  assert.ok(records > 1000 && records < 20000, `records before the cut: ${records}`);
});

test('line-level bad input: extra/missing fields, invalid addresses, invalid UTF-8 and a 10 MB line are counted errors and parsing goes on', async () => {
  const big = 'x'.repeat(10 * 1024 * 1024);
  const lines = [
    Buffer.from(AWS_HEADER + '\n'),
    Buffer.from(awsLine(1) + '\n'),
    Buffer.from(awsLine(2) + ' extra\n'),
    Buffer.from('2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6\n'),
    Buffer.from(awsLine(3).replace('10.1.0.7', '10.1.0.777') + '\n'),
    Buffer.concat([Buffer.from('2 123456789010 eni-'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(' 10.0.0.1 10.0.0.2 1 2 6 1 1 1 1 ACCEPT OK\n')]),
    Buffer.from(big + '\n'),
    Buffer.from(awsLine(4) + '\n'),
  ];
  const f = write('mixed.log', Buffer.concat(lines));
  const r = await run(['--stats', f]);
  assert.equal(r.code, 0, 'bad lines do not fail the file');
  assert.deepEqual(rows(r).map((x) => x.src_port), [40001, 40004]);
  const s = statsOf(r);
  assert.equal(s.errors, 5);
  for (const line of [3, 4, 5, 6, 7]) assert.match(r.stderr, new RegExp(`mixed\\.log:${line}: `), `line ${line} reported`);
  assert.ok(r.stderr.length < 64 * 1024, 'the 10 MB line is not echoed back whole');
});

test('an Azure blob prefix without the closing ]} is read, its tail counted incomplete, exit 0', async () => {
  const r = await run(['--stats', path.join(TD, 'azure/vnet-prefix.json')]);
  assert.equal(r.code, 0, r.stderr);
  const s = statsOf(r);
  assert.equal(s.incomplete, 1);
  assert.equal(s.errors, 0);
  assert.equal(s.records, rows(r).length);
  assert.ok(s.records > 0);
});

test('a file with errors and no good record fails the run after the other files, naming it; its errors are a bounded sample with the count', async () => {
  // 10^4 empty records: every one an error, no flow at all (exit 0 before: a success with zero flows)
  const n = 10_000;
  const bad = write('PT1H.json', `{"records":[${Array<string>(n).fill('{}').join(',')}]}`);
  const good = write('good3.log', [AWS_HEADER, awsLine(11)].join('\n') + '\n');
  const r = await run(['--stats', bad, good]);
  assert.notEqual(r.code, 0, 'a file of bad records only fails the run');
  assert.match(r.stderr, /PT1H\.json byte 12: no flow record, 10000 bad lines or records; the first: empty record/);
  assert.deepEqual(rows(r).map((x) => x.src_port), [40011], 'the good file after it was parsed');
  const s = statsOf(r);
  assert.equal(s.errors, n);
  assert.equal(s.files, 1);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length <= 110, `stderr is a bounded sample, not one line per bad record: ${lines.length} lines`);
  assert.match(r.stderr, /PT1H\.json: 9900 more issues not shown/);

  // a file with bad lines and good ones still exits 0
  const mixed = write('mixed-azure.json', `{"records":[{},${(JSON.parse(fs.readFileSync(path.join(TD, 'azure/vnet.json'), 'utf8')) as { records: unknown[] }).records.map((x) => JSON.stringify(x)).join(',')}]}`);
  const ok = await run(['--stats', '--output', 'none', mixed]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(statsOf(ok).errors, 1);
});

test('a GCP line nested 10,000 deep is one bad line with file and line number; the rest of the file is read', async () => {
  const lines = fs.readFileSync(path.join(TD, 'gcp/vpc_flows.ndjson'), 'utf8').trimEnd().split('\n');
  const deep = lines[0]!.replace('"jsonPayload":{', `"jsonPayload":{"labels":${'['.repeat(10_000)}${']'.repeat(10_000)},`);
  const f = write('deep.ndjson', [lines[0], lines[1], deep, ...lines.slice(2)].join('\n') + '\n');
  const r = await run(['--stats', f]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(rows(r).length, lines.length);
  assert.match(r.stderr, /deep\.ndjson:3: nesting deeper than 64 levels/);
  assert.doesNotMatch(r.stderr, /call stack/);
});

test('usage errors exit 2 with a message', async () => {
  const r = await run(['--output', 'xml', 'x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--output must be ndjson or none/);
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /at least one FILE/);
});
