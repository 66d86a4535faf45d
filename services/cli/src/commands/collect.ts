/**
 * `sightline collect`: the collector service run from the CLI. Imported on demand so the other
 * commands do not pay for loading Kafka and the cloud SDKs.
 */
export async function runCollect(args: string[]): Promise<number> {
  const { runCollect: run } = await import('@sightline/collector');
  return run(args);
}
