import { parseArgs } from 'node:util';
import { BackfillUsageError, runBackfill, unitBytes, type BackfillSummary } from './backfill.js';
import { Collector } from './collector.js';
import { ConfigError } from './config.js';
import { createLogger, errField, type Logger } from './log.js';
import { logProcessWarnings } from '@sightline/service-kit';
import { StartupError } from './startup.js';

const USAGE = 'usage: sightline collect --config FILE [--once]\n' +
  '  --config FILE  collector configuration (JSON; see services/collector/README.md)\n' +
  '  --once         process what is in the sources now (their look-back window) and exit; progress on a terminal\n' +
  '                 (older objects: sightline backfill --from T --to T)\n';

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

const BACKFILL_USAGE = 'usage: sightline backfill --config FILE --from T --to T [--source ID] [--progress-every SECONDS]\n' +
  '  --config FILE     collector configuration (JSON; see services/collector/README.md)\n' +
  '  --from T, --to T  the range, by the time in the objects\' names: RFC 3339 (2026-09-01T06:00:00Z) or a\n' +
  '                    date (2026-09-01); a date as --to takes in that whole day; hour granularity\n' +
  '  --source ID       one source (its id, as logged: tenant/aws/account/region/bucket/prefix#layout, ...)\n' +
  '  --progress-every  seconds between progress log lines when stderr is not a terminal (default 5)\n';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A --from or --to value as ms: RFC 3339 with its offset, or a UTC date; a date given as --to
 * means the end of that day (`--from 2026-09-01 --to 2026-09-30` is the whole of September).
 */
export function parseTimeArg(value: string, edge: 'from' | 'to'): number {
  const d = DATE.exec(value);
  if (d !== null) {
    const t = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]));
    const back = new Date(t);
    if (back.getUTCFullYear() !== Number(d[1]) || back.getUTCMonth() + 1 !== Number(d[2]) || back.getUTCDate() !== Number(d[3])) throw new Error(`--${edge} ${value}: no such date`);
    return edge === 'to' ? t + 86_400_000 : t;
  }
  const t = RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(t)) throw new Error(`--${edge} ${value}: expected an RFC 3339 time (2026-09-01T06:00:00Z) or a date (2026-09-01)`);
  return t;
}

/**
 * `sightline backfill`: publishes every object of a time range (see backfill.ts), with progress on
 * stderr (one self-overwriting line on a terminal, a pino line every few seconds otherwise) and
 * the summary as the last stdout line (JSON). Exit status: 0 done, 1 some units failed or Kafka
 * could not be reached, 2 usage or configuration error.
 */
export async function runBackfillCommand(args: string[]): Promise<number> {
  let values: { config?: string | undefined; from?: string | undefined; to?: string | undefined; source?: string | undefined; 'progress-every'?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args, strict: true,
      options: { config: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, source: { type: 'string' }, 'progress-every': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`sightline backfill: ${err instanceof Error ? err.message : String(err)}\n${BACKFILL_USAGE}`);
    return 2;
  }
  if (values.help) { process.stdout.write(BACKFILL_USAGE); return 0; }
  const missing = (['config', 'from', 'to'] as const).filter((k) => values[k] === undefined);
  if (missing.length > 0) { process.stderr.write(`sightline backfill: ${missing.map((k) => `--${k}`).join(', ')} required\n${BACKFILL_USAGE}`); return 2; }
  let fromMs: number, toMs: number, everyMs: number;
  try {
    fromMs = parseTimeArg(values.from!, 'from');
    toMs = parseTimeArg(values.to!, 'to');
    everyMs = values['progress-every'] === undefined ? 5000 : Number(values['progress-every']) * 1000;
    if (!(everyMs >= 100 && everyMs <= 3_600_000)) throw new Error(`--progress-every ${values['progress-every']}: seconds from 0.1 to 3600`);
  } catch (err) {
    process.stderr.write(`sightline backfill: ${err instanceof Error ? err.message : String(err)}\n${BACKFILL_USAGE}`);
    return 2;
  }

  const tty = process.stderr.isTTY === true;
  // On a terminal the progress line is the report: info lines would break it (warnings and errors still show).
  const log = createLogger(tty && process.env['SIGHTLINE_LOG_LEVEL'] === undefined ? { level: 'warn' } : {});
  const progress = new BackfillProgress(tty ? 'tty' : 'log', log);
  const timer = setInterval(() => progress.tick(), progress.mode === 'tty' ? 250 : everyMs);
  let summary: BackfillSummary;
  try {
    summary = await runBackfill({
      configFile: values.config!, range: { fromMs, toMs }, log,
      ...(values.source !== undefined ? { source: values.source } : {}),
      onTotals: (t) => progress.totals(t),
      onUnit: (ref, r) => progress.unit(unitBytes(ref), r.records),
    });
  } catch (err) {
    clearInterval(timer);
    if (err instanceof ConfigError || err instanceof BackfillUsageError) { process.stderr.write(`sightline backfill: ${err.message}\n`); return 2; }
    log.error({ err: errField(err), ...(err instanceof StartupError ? { step: err.step } : {}) }, `backfill failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  clearInterval(timer);
  progress.tick(true);
  log.info({ ...summary }, `backfill done: ${summary.objects} objects, ${summary.bytes} bytes, ${summary.flows} flows in ${summary.seconds.toFixed(1)} s${summary.failures > 0 ? `; ${summary.failures} failed` : ''}`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.failures > 0 ? 1 : 0;
}

const fmtDuration = (s: number) => {
  const r = Math.max(0, Math.round(s));
  const h = Math.floor(r / 3600), m = Math.floor((r % 3600) / 60), sec = r % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
};

/** Objects, bytes and flows done against the totals listed first; rate and ETA by bytes (flows per object vary too much). */
export class BackfillProgress {
  objects = 0;
  bytes = 0;
  flows = 0;
  total: { objects: number; bytes: number } | undefined;
  private readonly t0 = performance.now();

  constructor(readonly mode: 'tty' | 'log', private readonly log: Logger, private readonly write: (s: string) => void = (s) => void process.stderr.write(s)) {}

  totals(t: { objects: number; bytes: number }): void { this.total = t; }

  /** one unit done: its bytes as listed, its flows */
  unit(bytes: number, flows: number): void {
    this.objects++;
    this.bytes += bytes;
    this.flows += flows;
  }

  /** Seconds left at the byte rate so far; undefined before the totals are known or anything was read. */
  eta(): number | undefined {
    const s = (performance.now() - this.t0) / 1000;
    if (this.total === undefined || this.bytes === 0) return undefined;
    return Math.max(0, this.total.bytes - this.bytes) / (this.bytes / s);
  }

  tick(final = false): void {
    const s = Math.max((performance.now() - this.t0) / 1000, 0.001);
    const eta = this.eta();
    if (this.mode === 'log') {
      if (final) return; // the summary line follows
      this.log.info({
        objects: this.objects, bytes: this.bytes, flows: this.flows,
        ...(this.total ? { objectsTotal: this.total.objects, bytesTotal: this.total.bytes } : {}),
        bytesPerSecond: Math.round(this.bytes / s), flowsPerSecond: Math.round(this.flows / s),
        ...(eta !== undefined ? { etaSeconds: Math.round(eta) } : {}),
      }, 'backfill progress');
      return;
    }
    const mib = (b: number) => (b / 1048576).toFixed(1);
    const line = this.total === undefined
      ? `backfill: listing the range, ${fmtDuration(s)}`
      : `backfill: ${this.objects}/${this.total.objects} objects, ${mib(this.bytes)}/${mib(this.total.bytes)} MiB, ${this.flows.toLocaleString('en-US')} flows, ` +
        `${mib(this.bytes / s)} MiB/s, ${Math.round(this.flows / s).toLocaleString('en-US')} flows/s, ${final ? `done in ${fmtDuration(s)}` : `ETA ${eta === undefined ? '?' : fmtDuration(eta)}`}`;
    this.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
  }
}
