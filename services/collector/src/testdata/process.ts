// Runs the collector as a real child process (src/main.ts through tsx), as production would.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnService, startedPort, type ServiceProcess } from '@sightline/testkit';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CollectorProcess extends ServiceProcess {
  /** resolves with the HTTP port once the collector logged that it started; rejects if it exits first */
  started: Promise<number>;
}

export function spawnCollector(args: string[]): CollectorProcess {
  const p = spawnService({ name: 'collector', argv: ['--import', 'tsx', path.join(PKG, 'src/main.ts'), ...args], cwd: PKG, env: { SIGHTLINE_LOG_LEVEL: 'info' } });
  return { ...p, started: startedPort(p, 'collector') };
}

export async function health(port: number): Promise<{ sources: string[] }> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  return (await r.json()) as { sources: string[] };
}
