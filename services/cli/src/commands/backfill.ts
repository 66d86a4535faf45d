/**
 * `sightline backfill`: publishes the flow logs of a time range, however old, the way live
 * collection publishes them (services/collector/src/backfill.ts). Imported on demand so the other
 * commands do not pay for loading Kafka and the cloud SDKs.
 */
export async function runBackfill(args: string[]): Promise<number> {
  const { runBackfillCommand } = await import('@sightline/collector');
  return runBackfillCommand(args);
}
