import { parseArgs } from 'node:util';
import { Collector } from './collector.js';
import { ConfigError } from './config.js';
import { createLogger, errField } from './log.js';
import { logProcessWarnings } from '@sightline/service-kit';
import { StartupError } from './startup.js';

const USAGE = 'usage: sightline collect --config FILE [--once]\n' +
  '  --config FILE  collector configuration (JSON; see services/collector/README.md)\n' +
  '  --once         process what is in the sources now and exit (backfill); progress on a terminal\n';

/**
 * `sightline collect`: runs the collector until SIGINT/SIGTERM (graceful: in-flight units finish
 * or are abandoned before their checkpoint, never after), or with --once until the sources are
 * drained. Exit status: 0 done, 1 failure, 2 usage or configuration error.
 */
export async function runCollect(args: string[]): Promise<number> {
  let values: { config?: string | undefined; once?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string' }, once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`sightline collect: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) { process.stdout.write(USAGE); return 0; }
  if (!values.config) { process.stderr.write(`sightline collect: --config is required\n${USAGE}`); return 2; }

  const log = createLogger();
  logProcessWarnings(log);
  const once = values.once === true;
  const progress = once && process.stderr.isTTY ? new Progress() : undefined;
  let collector: Collector;
  try {
    collector = await Collector.start({
      configFile: values.config, once, log,
      ...(progress ? { onListed: () => progress.listed++, onUnit: (_ref, r) => { progress.read++; progress.records += r.records; progress.bytes += r.bytes; } } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) { process.stderr.write(`sightline collect: ${err.message}\n`); return 2; }
    // The message names the start-up step that failed or was stuck (StartupError), on one line.
    log.error({ err: errField(err), ...(err instanceof StartupError ? { step: err.step } : {}) }, `collector failed to start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  if (once) {
    const timer = progress ? setInterval(() => progress.draw(), 250) : undefined;
    try {
      await collector.done;
    } finally {
      if (timer) clearInterval(timer);
      progress?.draw(true);
    }
    const failures = collector.failures;
    await collector.stop();
    return failures > 0 ? 1 : 0;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => { log.info({ signal: sig }, 'stopping'); resolve(); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await collector.stop();
  return 0;
}

/** One self-overwriting stderr line for a backfill on a terminal. */
class Progress {
  listed = 0;
  read = 0;
  records = 0;
  bytes = 0;
  private readonly t0 = performance.now();

  draw(final = false): void {
    const s = (performance.now() - this.t0) / 1000;
    const line = `collect: ${this.read}/${this.listed} objects, ${this.records.toLocaleString('en-US')} flows, ` +
      `${(this.bytes / 1048576).toFixed(1)} MiB, ${Math.round(this.records / Math.max(s, 0.001)).toLocaleString('en-US')} flows/s, ${s.toFixed(1)} s`;
    process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
  }
}
