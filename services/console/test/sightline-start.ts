import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(REPO, 'services/cli/dist/main.js');

export interface Started {
  apiUrl: string;
  consoleUrl: string;
  token: string;
  stdout(): string;
  /** its log lines and warnings */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * `sightline start` as a person runs it: the embedded pipeline over the repository's samples into
 * DuckDB, the api serving the query routes and the console; its printed URLs and read token.
 */
export async function startSightline(): Promise<Started> {
  const data = mkdtempSync(path.join(tmpdir(), 'console-test-'));
  const p: ChildProcess = spawn(process.execPath, ['--enable-source-maps', CLI, 'start', '--data', data, '--port', '0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let ended = false;
  p.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const closed = new Promise<void>((resolve) => p.on('close', () => { ended = true; resolve(); }));
  const until = Date.now() + 240_000;
  await new Promise<void>((resolve, reject) => {
    const tick = () => {
      if (out.includes('press Ctrl-C to stop')) return resolve();
      if (ended) return reject(new Error(`sightline start ended before it was ready:\n${out}\n${err}`));
      if (Date.now() > until) return reject(new Error(`sightline start not ready within 240 s:\n${out}\n${err}`));
      setTimeout(tick, 100);
    };
    tick();
  });
  const apiUrl = /query API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  const consoleUrl = /console: (http:\/\/\S+)/.exec(out)?.[1];
  const token = /read token for tenant demo[^:]*: (\S+)/.exec(out)?.[1];
  if (!apiUrl || !consoleUrl || !token) throw new Error(`sightline start did not print the API URL, console URL and token:\n${out}`);
  return {
    apiUrl,
    consoleUrl,
    token,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (!ended) {
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
        await closed;
        clearTimeout(t);
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}
