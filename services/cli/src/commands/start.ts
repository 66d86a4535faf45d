import { curlExample, runEmbedded } from '../embedded/embedded.js';
import { parseEmbeddedArgs, stdoutLines } from '../embedded/options.js';
import { consoleUrl } from '../embedded/console-url.js';

/**
 * `sightline start`: the embedded default, kept running. Collects, enriches and stores the
 * samples, serves the query API on 127.0.0.1 and prints its URL, a read token made for this run
 * and the top talkers; runs until SIGINT or SIGTERM, then closes the API (in-flight queries
 * finish) and the store.
 */
export async function runStart(args: string[]): Promise<number> {
  let opts;
  try {
    opts = parseEmbeddedArgs('start', args);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const out = stdoutLines();
  const run = await runEmbedded({ ...opts, out, warn: (l) => process.stderr.write(`sightline start: ${l}\n`) });
  out('');
  out(`query API listening on ${run.api.url}  (OpenAPI: ${run.api.url}/v1/openapi.json)`);
  out(`console: ${consoleUrl(run.api.url, run.result.fromMs, run.result.toMs)}  (sign in with the read token below)`);
  // the token is shown this once, to the person who started the process; no log line carries it
  out(`read token for tenant demo (valid until this process stops): ${run.api.token}`);
  out(`try: ${curlExample(run)}`);
  out('press Ctrl-C to stop');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  out(`${signal}: stopping`);
  await run.close();
  out('stopped');
  return 0;
}
