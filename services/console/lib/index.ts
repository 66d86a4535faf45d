import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * Where the built console lives, for the process that serves it (the api). The build
 * (scripts/build.ts) writes hashed JavaScript and CSS, index.html and manifest.json there.
 */
export function consoleAssetsDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'www');
}

export const ConsoleManifest = z.object({
  /** the file names (relative to the assets dir) that carry a content hash: cached for good */
  hashed: z.array(z.string()),
  /** index.html, never cached without revalidation */
  index: z.literal('index.html'),
  /** bytes of the first load's JavaScript, gzip */
  jsGzipBytes: z.number().int(),
});
export type ConsoleManifest = z.infer<typeof ConsoleManifest>;

/** The build's manifest; null when the console was not built (the api then answers 404 with a hint). */
export function readConsoleManifest(dir = consoleAssetsDir()): ConsoleManifest | null {
  const file = path.join(dir, 'manifest.json');
  if (!existsSync(file)) return null;
  return ConsoleManifest.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** The path the console is served under, by the api and the embedded CLI alike. */
export const CONSOLE_PATH = '/console/';
