#!/usr/bin/env node
// Entry point of the enricher as its own process (tests spawn it).
import { runEnricher } from './cli.js';

runEnricher(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`enricher: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
