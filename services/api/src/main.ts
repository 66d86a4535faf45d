import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startApi } from './service.js';
import { watchConfigFile } from '@sightline/service-kit';
import { configFileArg } from '@sightline/config';

/** `node dist/main.js --config api.json`: runs until SIGTERM/SIGINT, then drains. */
async function main(): Promise<void> {
  const file = configFileArg('sightline-api', 'SIGHTLINE_API_CONFIG');
  const config = loadConfig(file);
  const log = createLogger({ level: config.logLevel });
  const api = await startApi(config, { log });
  // new tokens, clusters and tenants without a restart: the config file, and a tokens file it names
  const reload = (what: string) => watchConfigFile(what, () => loadConfig(file), (next) => { api.reload(next); }, (r) => {
    api.metrics.configReloads.inc({ result: r.ok ? 'ok' : 'invalid' });
    if (!r.ok) log.error({ err: r.error instanceof Error ? r.error.message : String(r.error), file: what }, 'api: configuration change rejected: the running configuration is kept');
  });
  const unwatch = [reload(file), ...(config.tokensFile ? [reload(config.tokensFile)] : [])];
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    for (const u of unwatch) u();
    log.info({ signal: sig }, 'api: stopping');
    api.stop().then(() => process.exit(0), (err: unknown) => { log.error({ err: String(err) }, 'api: stop failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`sightline-api: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
