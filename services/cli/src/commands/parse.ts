import { parseArgs } from 'node:util';
import { z } from 'zod';
import { newStats, parseObject, ParseError, type ParseIssue, type ParseStats } from '@sightline/parsers';
import { LineWriter } from '../output.js';
import { checkReadable, fileInput } from '../file-input.js';

const ParseOptions = z.object({
  stats: z.boolean().default(false),
  output: z.enum(['ndjson', 'none'], { message: '--output must be ndjson or none' }).default('ndjson'),
  files: z.array(z.string()).min(1, 'at least one FILE is required'),
});

/** Issues reported per file before the rest are only counted: a file of a million bad lines must not flood a terminal. */
const MAX_ISSUES_PER_FILE = 100;

export async function runParse(args: string[]): Promise<number> {
  let opts: z.infer<typeof ParseOptions>;
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { stats: { type: 'boolean' }, output: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    opts = ParseOptions.parse({ stats: values.stats, output: values.output, files: positionals });
  } catch (err) {
    const msg = err instanceof z.ZodError ? err.issues.map((i) => i.message).join('; ') : (err as Error).message;
    process.stderr.write(`sightline parse: ${msg}\nusage: sightline parse [--stats] [--output ndjson|none] FILE...\n`);
    return 2;
  }

  const out = new LineWriter(process.stdout);
  const total = { files: 0, ...newStats() };
  let failed = 0;

  for (const file of opts.files) {
    const why = await checkReadable(file);
    if (why !== null) {
      process.stderr.write(`sightline: ${file}: cannot read: ${why}\n`);
      failed++;
      continue;
    }
    const stats: ParseStats = newStats();
    let reported = 0;
    const onIssue = (issue: ParseIssue) => {
      if (reported++ < MAX_ISSUES_PER_FILE) process.stderr.write(`sightline: ${describe(issue)}\n`);
    };
    try {
      for await (const batch of parseObject(fileInput(file), { source: file, stats, onIssue })) {
        if (opts.output === 'ndjson' && !out.closed) {
          for (let i = 0; i < batch.length; i++) {
            const wait = out.line(batch.jsonLine(i));
            if (wait) await wait;
          }
        }
      }
      total.files++;
    } catch (err) {
      failed++;
      const msg = err instanceof ParseError ? err.message : `${file}: ${(err as Error).message}`;
      process.stderr.write(`sightline: ${msg}\n`);
    } finally {
      if (reported > MAX_ISSUES_PER_FILE) {
        process.stderr.write(`sightline: ${file}: ${reported - MAX_ISSUES_PER_FILE} more issues not shown\n`);
      }
      total.records += stats.records;
      total.nodata += stats.nodata;
      total.skipdata += stats.skipdata;
      total.errors += stats.errors;
      total.incomplete += stats.incomplete;
    }
  }
  await out.flush();
  if (opts.stats) process.stderr.write(JSON.stringify(total) + '\n');
  return failed > 0 ? 1 : 0;
}

function describe(issue: ParseIssue): string {
  const where = issue.line !== undefined ? `:${issue.line}` : issue.offset !== undefined ? ` (byte ${issue.offset})` : '';
  const tag = issue.kind === 'incomplete' ? 'incomplete: ' : '';
  return `${issue.source}${where}: ${tag}${issue.message}`;
}
