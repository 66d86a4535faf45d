/**
 * Minimal driver for the AWS text benchmark when the CLI is not built: reads one file,
 * decompresses, parses, discards the batches, prints the stats as one JSON line.
 * Run built (see aws-bench.tsconfig.json), never through tsx: the benchmark times a plain node process.
 */
import { createReadStream } from 'node:fs';
import { parseAwsText } from '../src/formats/aws-vpc-text/aws-text.js';
import { decompress } from '../src/core/decompress.js';
import { newStats, type ParseIssue } from '../src/types.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node parse-file.js FILE\n');
  process.exit(2);
}
const stats = newStats();
let firstIssue: ParseIssue | null = null;
const ctx = {
  source: file,
  stats,
  onIssue: (i: ParseIssue) => {
    firstIssue ??= i;
  },
};
const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
let rows = 0;
for await (const batch of parseAwsText(decompress(input, { source: file }), ctx)) rows += batch.length;
process.stdout.write(JSON.stringify({ rows, ...stats, firstIssue: firstIssue === null ? null : (firstIssue as ParseIssue).message }) + '\n');
