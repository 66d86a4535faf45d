// Runs the enricher as a real child process (src/main.ts through tsx), as production would.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface EnricherProcess {
  child: ChildProcess;
  /** every log line (pino JSON) and stderr text so far */
  lines: string[];
  /** resolves with the HTTP port once the enricher logged that it started */
  started: Promise<number>;
  exited: Promise<number | null>;
}

export function spawnEnricher(args: string[]): EnricherProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PKG, 'src/main.ts'), ...args], {
    cwd: PKG,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SIGHTLINE_LOG_LEVEL: 'info' },
  });
  const lines: string[] = [];
  let resolvePort: (p: number) => void = () => undefined;
  let rejectPort: (e: Error) => void = () => undefined;
  const started = new Promise<number>((res, rej) => { resolvePort = res; rejectPort = rej; });
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (line.includes('"enricher started"')) {
        try { resolvePort((JSON.parse(line) as { port: number }).port); } catch { /* not JSON */ }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => {
    rejectPort(new Error(`enricher exited (${code}) before it started:\n${lines.slice(-20).join('\n')}`));
    res(code);
  }));
  return { child, lines, started, exited };
}

/** Sum of one counter over its series, read from the process's /metrics. */
export async function scrape(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}
