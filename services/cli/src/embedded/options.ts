import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/** The repository root, seen from src/embedded or dist/embedded. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

const Options = z.object({
  config: z.string().min(1).default(path.join(REPO_ROOT, 'samples/sightline.json')),
  data: z.string().min(1).default(path.join(REPO_ROOT, '.data/embedded')),
  port: z.coerce.number().int().min(0).max(65535).optional(),
});

export interface EmbeddedArgs {
  configFile: string;
  dbPath: string;
  port: number | undefined;
}

export const EMBEDDED_USAGE = '[--config samples/sightline.json] [--data .data/embedded] [--port N]';

/** `--config`, `--data` (folder of sightline.duckdb) and `--port` (0: any free port). */
export function parseEmbeddedArgs(cmd: string, args: string[]): EmbeddedArgs {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, data: { type: 'string' }, port: { type: 'string' } },
    allowPositionals: false,
    strict: true,
  });
  const r = Options.safeParse(values);
  if (!r.success) throw new Error(`sightline ${cmd}: ${r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}\nusage: sightline ${cmd} ${EMBEDDED_USAGE}`);
  return { configFile: path.resolve(r.data.config), dbPath: path.resolve(r.data.data, 'sightline.duckdb'), port: r.data.port };
}

/**
 * A line writer on stdout that survives a reader going away (`pnpm demo | head -1`): the pipeline
 * and the API keep working and closing cleanly, only the output is dropped.
 */
export function stdoutLines(): (line: string) => void {
  let closed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
    else throw err;
  });
  return (line) => {
    if (!closed) process.stdout.write(line + '\n');
  };
}
