import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * chDB: the current ClickHouse engine (26.x) as a Python library, installed by
 * `infra/local/chdb.sh` into a cached virtualenv (`scripts/test.sh` runs it through
 * `infra/local/test-tools.sh`). Tests use it to run the store's current-server DDL and SQL on a
 * current engine, next to the ClickHouse 18.16 server the local infra runs.
 *
 * Two layers:
 * - `ChdbSession`: one Python process per session, one chDB connection on a temp directory,
 *   statements sent over stdin and answers read back as JSON lines (no sleeps: each request waits
 *   for its own answer line).
 * - `startChdbHttp`: the part of ClickHouse's HTTP interface the official Node client uses
 *   (POST a statement, or an INSERT's data with the statement in `?query=`; settings as URL
 *   parameters; `X-ClickHouse-Summary`; errors as `Code: N. DB::Exception`), passed to a session,
 *   so `ClickHouseStore` runs unchanged (migrate, its inserts in whatever format it sends, dedup tokens, every
 *   query) on the current engine. It is a transport adapter over the real engine, not a server:
 *   what it cannot show (HTTP, async inserts, server settings, replication) is listed in
 *   packages/store/README.md.
 */

function cacheDir(env: NodeJS.ProcessEnv): string {
  return env.SIGHTLINE_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'sightline');
}

/** The python that has chDB: SIGHTLINE_CHDB_PYTHON, else the wrapper chdb.sh leaves in the cache, else python3. */
export function chdbPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIGHTLINE_CHDB_PYTHON) return env.SIGHTLINE_CHDB_PYTHON;
  const wrapper = path.join(cacheDir(env), 'chdb-python');
  return existsSync(wrapper) ? wrapper : 'python3';
}

let probed: { ok: boolean; version: string; detail: string } | undefined;

/** Whether chDB imports, and its engine version (`SELECT version()`); asked once per process. */
export function chdbProbe(): { ok: boolean; version: string; detail: string } {
  if (probed) return probed;
  const py = chdbPython();
  const r = spawnSync(py, ['-c', 'import chdb; print(chdb.query("SELECT version()", "TSV").bytes().decode().strip())'], { encoding: 'utf8' });
  probed =
    r.status === 0
      ? { ok: true, version: r.stdout.trim(), detail: py }
      : { ok: false, version: '', detail: `${py}: ${(r.error?.message ?? r.stderr).trim().split('\n').slice(-1)[0] ?? 'no output'}` };
  return probed;
}

/**
 * `test(name, chdbTestOptions(), fn)`: runs where chDB is installed. Outside CI a missing chDB is
 * a skip that says how to install it; with CI=true the test runs and `requireChdb` fails it, so
 * the current-engine tests can never be skipped silently in `.ci/run`.
 */
export function chdbTestOptions(env: NodeJS.ProcessEnv = process.env): { skip: false | string } {
  if (chdbProbe().ok || env.CI === 'true') return { skip: false };
  return { skip: 'needs chDB: bash infra/local/chdb.sh (or SIGHTLINE_CHDB_PYTHON=a python with chdb)' };
}

/** Throws, naming the python tried and how to install, when chDB is missing. */
export function requireChdb(): string {
  const p = chdbProbe();
  if (!p.ok) throw new Error(`chDB not found (${p.detail}): bash infra/local/chdb.sh installs it; scripts/test.sh runs that through infra/local/test-tools.sh`);
  return p.version;
}

// One request per line on stdin, one answer per line on stdout, in order. Settings are SET before
// the statement and reset to DEFAULT after it, so one statement's settings never leak to the next.
const RUNNER = String.raw`
import base64, json, re, sys
import chdb
conn = chdb.connect(sys.argv[1])
out = sys.stdout
def lit(v):
    s = str(v)
    return s if re.fullmatch(r"-?\d+(\.\d+)?", s) else "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"
def run(req):
    names = []
    try:
        for k, v in (req.get("settings") or {}).items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
                raise ValueError("invalid setting name " + k)
            conn.query("SET " + k + " = " + lit(v))
            names.append(k)
        if req["op"] == "insert":
            ins = conn.send_insert(req["sql"], req["format"])
            ins.append(base64.b64decode(req["data"]))
            r = ins.finish()
            return {"ok": True, "data": "", "rows_read": 0, "bytes_read": 0, "rows_written": r.rows_written, "bytes_written": r.bytes_written, "elapsed": r.elapsed}
        r = conn.query(req["sql"], req.get("format") or "TabSeparated")
        data = r.bytes() if r is not None else b""
        return {"ok": True, "data": base64.b64encode(data).decode(), "rows_read": r.rows_read() if r is not None else 0,
                "bytes_read": r.bytes_read() if r is not None else 0, "rows_written": 0, "bytes_written": 0,
                "elapsed": r.elapsed() if r is not None else 0}
    finally:
        for k in names:
            conn.query("SET " + k + " = DEFAULT")
while True:
    line = sys.stdin.buffer.readline()
    if not line:
        break
    req = json.loads(line)
    try:
        res = run(req)
    except Exception as e:
        res = {"ok": False, "error": str(e)}
    res["id"] = req["id"]
    out.write(json.dumps(res) + "\n")
    out.flush()
conn.close()
`;

const AnswerSchema = z.union([
  z.object({
    id: z.number(),
    ok: z.literal(true),
    data: z.string(),
    rows_read: z.number(),
    bytes_read: z.number(),
    rows_written: z.number(),
    bytes_written: z.number(),
    elapsed: z.number(),
  }),
  z.object({ id: z.number(), ok: z.literal(false), error: z.string() }),
]);

export interface ChdbResult {
  /** the statement's output, in its FORMAT (TabSeparated when it names none) */
  data: Buffer;
  rowsRead: number;
  bytesRead: number;
  /** rows written, cascaded materialized views included (the meaning of X-ClickHouse-Summary.written_rows) */
  rowsWritten: number;
  bytesWritten: number;
  elapsedSeconds: number;
}

/** A chDB error: the engine's own message (`Code: N. DB::Exception: ...`) and the statement it came from. */
export class ChdbError extends Error {
  constructor(
    readonly engineMessage: string,
    readonly sql: string,
  ) {
    super(`chDB: ${engineMessage.trim()} (statement: ${sql.replace(/\s+/g, ' ').slice(0, 200)})`);
    this.name = 'ChdbError';
  }

  /** the ClickHouse error code, when the message carries one */
  get code(): number | undefined {
    const m = /Code: (\d+)\./.exec(this.engineMessage);
    return m ? Number(m[1]) : undefined;
  }
}

type Settings = Readonly<Record<string, string | number>>;

/**
 * One chDB connection in its own Python process, on a temp directory removed at `close`.
 * Requests are answered in the order sent; several may be in flight (each waits for its answer).
 */
export class ChdbSession {
  private readonly pending = new Map<number, { resolve: (r: z.infer<typeof AnswerSchema>) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private buf = '';
  private exited: Error | undefined;
  private stderr = '';

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    /** the session's data directory */
    readonly path: string,
    /** the engine's version (`SELECT version()`) */
    readonly version: string,
  ) {
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => this.onData(chunk));
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    proc.on('exit', (code, signal) => {
      this.exited = new Error(`chDB process exited (code ${code}, signal ${signal}): ${this.stderr.trim().slice(-1000)}`);
      for (const p of this.pending.values()) p.reject(this.exited);
      this.pending.clear();
    });
  }

  /** Starts a session (throws, as `requireChdb`, when chDB is missing). */
  static async open(): Promise<ChdbSession> {
    const version = requireChdb();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-chdb-'));
    const proc = spawn(chdbPython(), ['-c', RUNNER, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const s = new ChdbSession(proc, dir, version);
    await s.query('SELECT 1');
    return s;
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const parsed = AnswerSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`chDB runner: unexpected answer line ${line.slice(0, 200)}`);
      const p = this.pending.get(parsed.data.id);
      this.pending.delete(parsed.data.id);
      p?.resolve(parsed.data);
    }
  }

  private async send(req: Record<string, unknown>, sql: string): Promise<ChdbResult> {
    if (this.exited) throw this.exited;
    const id = this.nextId++;
    const answer = await new Promise<z.infer<typeof AnswerSchema>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.stdin.write(JSON.stringify({ ...req, id }) + '\n');
    });
    if (!answer.ok) throw new ChdbError(answer.error, sql);
    return {
      data: Buffer.from(answer.data, 'base64'),
      rowsRead: answer.rows_read,
      bytesRead: answer.bytes_read,
      rowsWritten: answer.rows_written,
      bytesWritten: answer.bytes_written,
      elapsedSeconds: answer.elapsed,
    };
  }

  /** One statement; its FORMAT clause (else `format`, default TabSeparated) shapes `data`. */
  query(sql: string, opts: { format?: string; settings?: Settings } = {}): Promise<ChdbResult> {
    return this.send({ op: 'query', sql, format: opts.format ?? null, settings: opts.settings ?? {} }, sql);
  }

  /** Rows of a SELECT as objects (JSONEachRow; 64-bit integers come back as strings, as over HTTP). */
  async rows<T = Record<string, unknown>>(sql: string, settings: Settings = {}): Promise<T[]> {
    const text = (await this.query(sql, { format: 'JSONEachRow', settings })).data.toString('utf8');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as T);
  }

  /** An INSERT of `data` in `format`; `sql` is the statement without its FORMAT clause (`INSERT INTO t (a, b)`). */
  insert(sql: string, format: string, data: Buffer, settings: Settings = {}): Promise<ChdbResult> {
    return this.send({ op: 'insert', sql, format, data: data.toString('base64'), settings }, sql);
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const done = new Promise<void>((ok) => this.proc.once('exit', () => ok()));
      this.proc.stdin.end();
      await done;
    }
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** URL parameters of the HTTP interface that are not settings. */
const NOT_SETTINGS = new Set(['query', 'query_id', 'database', 'session_id', 'role', 'default_format', 'user', 'password', 'wait_end_of_query', 'session_timeout', 'session_check']);

export interface ChdbHttp {
  /** `http://127.0.0.1:<port>`, for `ClickHouseStore.open({ url })` or `createClient({ url })` */
  url: string;
  /** every statement received, in order (what the client sent, before the adapter split off data) */
  readonly statements: readonly string[];
  close(): Promise<void>;
}

/**
 * Serves the ClickHouse HTTP interface's statement path over a chDB session, for the official
 * client. An INSERT with data (`?query=INSERT … FORMAT F`, data in the body) goes to chDB's
 * streaming insert with the same bytes; any other statement runs as sent. The summary header
 * carries chDB's own read and written counts.
 */
export async function startChdbHttp(session: ChdbSession): Promise<ChdbHttp> {
  const statements: string[] = [];
  let currentDb = 'default';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const u = new URL(req.url ?? '/', 'http://x');
        if (u.pathname === '/ping') {
          res.writeHead(200).end('Ok.\n');
          return;
        }
        const body = Buffer.concat(chunks);
        const inUrl = u.searchParams.get('query');
        const sql = inUrl ?? body.toString('utf8');
        const settings: Record<string, string> = {};
        for (const [k, v] of u.searchParams) if (!NOT_SETTINGS.has(k) && !k.startsWith('param_')) settings[k] = v;
        // response compression is the client's choice; this adapter answers uncompressed
        delete settings.enable_http_compression;
        const queryId = u.searchParams.get('query_id') ?? '';
        statements.push(sql);
        try {
          const db = u.searchParams.get('database') ?? 'default';
          if (db !== currentDb) {
            await session.query(`USE \`${db.replace(/`/g, '')}\``);
            currentDb = db;
          }
          let r: ChdbResult;
          if (inUrl !== null && body.length > 0) {
            const m = /^([\s\S]*?)\s+FORMAT\s+(\w+)\s*$/i.exec(inUrl);
            if (!m?.[1] || !m[2]) throw new ChdbError('Code: 62. DB::Exception: the chDB HTTP adapter needs INSERT … FORMAT <format> with the data in the body. (SYNTAX_ERROR)', inUrl);
            r = await session.insert(m[1], m[2], body, settings);
          } else {
            r = await session.query(sql, { settings });
          }
          const summary = {
            read_rows: String(r.rowsRead),
            read_bytes: String(r.bytesRead),
            written_rows: String(r.rowsWritten),
            written_bytes: String(r.bytesWritten),
            total_rows_to_read: String(r.rowsRead),
            result_rows: '0',
            result_bytes: '0',
            elapsed_ns: String(Math.round(r.elapsedSeconds * 1e9)),
          };
          res.writeHead(200, {
            'Content-Type': 'text/plain; charset=UTF-8',
            'X-ClickHouse-Query-Id': queryId,
            'X-ClickHouse-Summary': JSON.stringify(summary),
          });
          res.end(r.data);
        } catch (e) {
          const msg = e instanceof ChdbError ? e.engineMessage : `Code: 1000. DB::Exception: ${(e as Error).message}`;
          const code = /Code: (\d+)\./.exec(msg)?.[1] ?? '1000';
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': code, 'X-ClickHouse-Query-Id': queryId });
          res.end(msg.trim() + '\n');
        }
      })();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    statements,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}
