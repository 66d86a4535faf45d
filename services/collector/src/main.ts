#!/usr/bin/env node
// Entry point of the collector as its own process (tests spawn it; the CLI's `collect` command is the same code).
import { runCollect } from './cli.js';

/**
 * Once the collector is done (stopped, drained, or failed to start) the process ends even if a
 * Kafka client left behind still holds a socket or a timer (a disconnect that never settled, see
 * startup.ts): it would otherwise keep a finished process alive for good.
 */
const EXIT_GRACE_MS = 10_000;
function exitSoon(): void {
  setTimeout(() => {
    process.stderr.write(`collector: still running ${EXIT_GRACE_MS} ms after it finished (a Kafka client did not close); exiting\n`);
    process.exit();
  }, EXIT_GRACE_MS).unref();
}

runCollect(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; exitSoon(); },
  (err: unknown) => {
    process.stderr.write(`collector: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    exitSoon();
  },
);
