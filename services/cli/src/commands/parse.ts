import { z } from 'zod';
import { LineWriter } from '../output.js';
import { parseFiles } from '../file-input.js';
import { commandOptions } from '../args.js';

const ParseOptions = z.object({
  stats: z.boolean().default(false),
  output: z.enum(['ndjson', 'none'], { message: '--output must be ndjson or none' }).default('ndjson'),
  files: z.array(z.string()).min(1, 'at least one FILE is required'),
});

export async function runParse(args: string[]): Promise<number> {
  const opts = commandOptions('parse', 'usage: sightline parse [--stats] [--output ndjson|none] FILE...', args,
    { stats: { type: 'boolean' }, output: { type: 'string' } }, ParseOptions,
    (values, files) => ({ stats: values.stats, output: values.output, files }));
  if (opts === null) return 2;

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
