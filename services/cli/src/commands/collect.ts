import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `sightline collect`: the collector service (services/collector) run from the CLI. Loaded on
 * demand so the other commands do not pay for Kafka and cloud SDKs; resolved from the workspace
 * by path until the CLI declares @sightline/collector as a dependency.
 */
export async function runCollect(args: string[]): Promise<number> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const entry = pathToFileURL(path.resolve(here, '../../../collector/dist/index.js')).href;
  const mod = (await import(entry)) as { runCollect: (args: string[]) => Promise<number> };
  return mod.runCollect(args);
}
