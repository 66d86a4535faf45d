// A Sightline service run as a real child process, as production runs it, with its log lines
// kept for assertions and for the error of a test that fails.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServiceProcess {
  child: ChildProcess;
  /** log lines (pino JSON) and stderr text so far (the last `keepLines`, default all) */
  lines: string[];
  exited: Promise<number | null>;
  /**
   * Resolves with the first line containing `text` (seen before or after the call); rejects,
   * with the last lines of output, if the process exits first.
   */
  seen(text: string): Promise<string>;
  /** the lines so far that are not one JSON object (a service logs nothing but pino lines) */
  notJson(): string[];
}

export interface ServiceProcessOptions {
  /** names the process in errors */
  name: string;
  /** node arguments: flags, then the entry file and its arguments */
  argv: string[];
  cwd?: string;
  /** added to this process's environment */
  env?: Record<string, string>;
  keepLines?: number;
}

export function spawnService(o: ServiceProcessOptions): ServiceProcess {
  const child = spawn(process.execPath, o.argv, {
    ...(o.cwd ? { cwd: o.cwd } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  const keep = o.keepLines ?? Infinity;
  const lines: string[] = [];
  const waiters: { text: string; ok: (line: string) => void }[] = [];
  let buf = '';
  const onData = (d: Buffer): void => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (lines.length > keep) lines.shift();
      for (let w = waiters.length - 1; w >= 0; w--) {
        if (line.includes(waiters[w]!.text)) waiters.splice(w, 1)[0]!.ok(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const seen = (text: string): Promise<string> => {
    const earlier = lines.find((l) => l.includes(text));
    if (earlier !== undefined) return Promise.resolve(earlier);
    return new Promise<string>((ok, fail) => {
      waiters.push({ text, ok });
      void exited.then((code) => fail(new Error(`${o.name} exited (${code}) before logging ${text}:\n${lines.slice(-20).join('\n')}`)));
    });
  };
  const notJson = (): string[] => lines.filter((l) => {
    try {
      const v: unknown = JSON.parse(l);
      return typeof v !== 'object' || v === null || Array.isArray(v);
    } catch {
      return true;
    }
  });
  return { child, lines, exited, seen, notJson };
}

/** The `port` field of a service's "<name> started" log line. */
export async function startedPort(p: ServiceProcess, name: string): Promise<number> {
  const line = await p.seen(`"${name} started"`);
  const port = (JSON.parse(line) as { port?: unknown }).port;
  if (typeof port !== 'number') throw new Error(`${name} started without a port in its log line: ${line}`);
  return port;
}
