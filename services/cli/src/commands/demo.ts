import { runEmbedded } from '../embedded/embedded.js';
import { parseEmbeddedArgs, stdoutLines } from '../embedded/options.js';

/**
 * `sightline demo`: the embedded default once. Collects, enriches and stores the samples, starts
 * the query API, reads the top talkers through it, stops, and ends stdout with one JSON line
 * (`{"flows","attributed","store","path"}`) for scripts and CI.
 */
export async function runDemo(args: string[]): Promise<number> {
  let opts;
  try {
    opts = parseEmbeddedArgs('demo', args);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const out = stdoutLines();
  const run = await runEmbedded({ ...opts, out, warn: (l) => process.stderr.write(`sightline demo: ${l}\n`) });
  out('');
  out(`query API was served at ${run.api.url} (stopped: this was the one-shot demo; \`pnpm start\` keeps it running)`);
  await run.close();
  out(JSON.stringify({ flows: run.result.flows, attributed: run.result.attributed, store: 'duckdb', path: run.dbPath }));
  return run.result.failed > 0 ? 1 : 0;
}
