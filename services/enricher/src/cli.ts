import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { Enricher } from './enricher.js';
import { logProcessWarnings, watchConfigFile } from '@sightline/service-kit';
import { createLogger, errField } from './log.js';

const USAGE = 'usage: sightline-enricher --config FILE\n' +
  '  --config FILE  enricher configuration (JSON; see services/enricher/README.md)\n';

/**
 * Runs the enricher until SIGINT/SIGTERM. Stopping is a drain: the message being stored is
 * finished and committed, the rest is left to the group. Exit status: 0 stopped, 1 failure,
 * 2 usage or configuration error.
 */
export async function runEnricher(args: string[]): Promise<number> {
  let values: { config?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`sightline-enricher: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) { process.stdout.write(USAGE); return 0; }
  if (!values.config) { process.stderr.write(`sightline-enricher: --config is required\n${USAGE}`); return 2; }

  const log = createLogger();
  logProcessWarnings(log);
  let stopRequested: ((sig: string) => void) | undefined;
  const stopped = new Promise<string>((resolve) => { stopRequested = resolve; });
  process.once('SIGINT', () => stopRequested?.('SIGINT'));
  process.once('SIGTERM', () => stopRequested?.('SIGTERM'));
  let enricher: Enricher;
  try {
    const cfg = await loadConfig(values.config);
    enricher = await Enricher.start(cfg, log);
  } catch (err) {
    if (err instanceof ConfigError) { process.stderr.write(`sightline-enricher: ${err.message}\n`); return 2; }
    log.error({ err: errField(err) }, 'enricher failed to start');
    return 1;
  }
  const file = values.config;
  // new clusters, tenants and retention days without a restart (the one backend file, or the enricher's own)
  const unwatch = watchConfigFile(file, () => loadConfig(file), (next) => {
    const r = enricher.reload(next);
    log.info(r, r.needRestart.length > 0 ? 'configuration reloaded; some changes need a restart' : 'configuration reloaded');
  }, (r) => {
    enricher.metrics.configReloads.inc({ result: r.ok ? 'ok' : 'invalid' });
    if (!r.ok) log.error({ err: errField(r.error) }, 'configuration change rejected: the running configuration is kept');
  });
  const sig = await stopped;
  unwatch();
  log.info({ signal: sig }, 'stopping');
  await enricher.stop();
  return 0;
}
