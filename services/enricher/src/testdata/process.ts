// Runs the enricher as a real child process (src/main.ts through tsx), as production would.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnService, startedPort, type ServiceProcess } from '@sightline/testkit';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface EnricherProcess extends ServiceProcess {
  /** resolves with the HTTP port once the enricher logged that it started; rejects if it exits first */
  started: Promise<number>;
}

export function spawnEnricher(args: string[]): EnricherProcess {
  const p = spawnService({ name: 'enricher', argv: ['--import', 'tsx', path.join(PKG, 'src/main.ts'), ...args], cwd: PKG, env: { SIGHTLINE_LOG_LEVEL: 'info' } });
  return { ...p, started: startedPort(p, 'enricher') };
}

/** Sum of one counter over its series, read from the process's /metrics. */
export async function scrape(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}
