/**
 * The console's address for this run, opened on the samples' time span (whole hours, so the
 * hourly rollup answers): the samples are a fixed hour in the past, and the console's default
 * "last hour" would show nothing. The token is never part of it: the console asks for it.
 */
export function consoleUrl(apiUrl: string, fromMs: number, toMs: number): string {
  const hour = 3_600_000;
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return `${apiUrl}/console/`;
  const from = new Date(Math.floor(fromMs / hour) * hour).toISOString().replace('.000Z', 'Z');
  const to = new Date(Math.ceil((toMs + 1) / hour) * hour).toISOString().replace('.000Z', 'Z');
  return `${apiUrl}/console/#/map?from=${from}&to=${to}&metric=bytes`;
}
