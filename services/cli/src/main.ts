#!/usr/bin/env node
// Commands are imported when run: `parse` must not pay for loading DuckDB, Kafka and the
// cloud SDKs that the pipeline commands need (that was most of a second per invocation).

const USAGE = `usage: sightline <command> [options]

commands:
  parse [--stats] [--output ndjson|none] FILE...   parse flow-log files (AWS text/gzip/Parquet, GCP, Azure) to NDJSON
  enrich --kube NAME=FILE [--kube NAME=FILE ...] [--stats] FILE...   parse and attribute both ends to Kubernetes objects (kubectl -o json dumps)
  start [--config FILE] [--data DIR] [--port N]   the embedded default: collect, enrich and store the samples in DuckDB, serve the query API on 127.0.0.1 until Ctrl-C
  demo [--config FILE] [--data DIR] [--port N]    the same once, then exit; the last stdout line is {"flows","attributed","store","path"}
  collect --config FILE [--once]                   collect flow logs from S3/GCS/Azure into Kafka (--once: what the look-back window holds, then exit)
  backfill --config FILE --from T --to T [--source ID]   publish the flow logs of a time range, however old, under the batch ids live collection uses
  config check FILE | schema | reference           check the one backend file (every service's part), print its JSON Schema or its reference
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'parse':
      return (await import('./commands/parse.js')).runParse(rest);
    case 'enrich':
      return (await import('./commands/enrich.js')).runEnrich(rest);
    case 'start':
      return (await import('./commands/start.js')).runStart(rest);
    case 'demo':
      return (await import('./commands/demo.js')).runDemo(rest);
    case 'collect':
      return (await import('./commands/collect.js')).runCollect(rest);
    case 'backfill':
      return (await import('./commands/backfill.js')).runBackfill(rest);
    case 'config':
      return (await import('./commands/config.js')).runConfig(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`sightline: unknown command "${cmd}"\n${USAGE}`);
      return 2;
  }
}

/**
 * A command that has returned is done; a client it leaves behind (a kafkajs connect retried after
 * its disconnect, see services/collector/src/startup.ts) must not keep the process alive for good.
 */
const EXIT_GRACE_MS = 10_000;
const exitSoon = (): void => {
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
};

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    exitSoon();
  },
  (err: unknown) => {
    process.stderr.write(`sightline: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    exitSoon();
  },
);
