#!/usr/bin/env node
// Entry point of the collector as its own process (tests spawn it; the CLI's `collect` command is the same code).
import { runCollect } from './cli.js';

runCollect(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`collector: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
