import { parseArgs } from 'node:util';
import { z } from 'zod';
import { LineWriter } from '../output.js';
import { parseFiles } from '../file-input.js';

const ParseOptions = z.object({
  stats: z.boolean().default(false),
  output: z.enum(['ndjson', 'none'], { message: '--output must be ndjson or none' }).default('ndjson'),
  files: z.array(z.string()).min(1, 'at least one FILE is required'),
});

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
  const { total, failed } = await parseFiles(opts.files, async (batch) => {
    if (opts.output !== 'ndjson' || out.closed) return;
    for (let i = 0; i < batch.length; i++) {
      const wait = out.line(batch.jsonLine(i));
      if (wait) await wait;
    }
  });
  await out.flush();
  if (opts.stats) process.stderr.write(JSON.stringify(total) + '\n');
  return failed > 0 ? 1 : 0;
}
