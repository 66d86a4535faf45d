import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createGunzip } from 'node:zlib';
import { handleIngest, type IngestDeps } from './ingest.js';
import { openApiDocument } from './openapi.js';
import { handleQuery, type QueryDeps } from './query.js';
import { ClientGone } from './query-limiter.js';

// The query API's parts, for processes that wire their own runner (the embedded CLI): a runner
// rejects with QueryTimeout at the deadline for the handler to answer 504.
export { QueryTimeout, QueryTooLarge, DuckDBRunner, ClickHouseRunner, openQueryRunner, type QueryRunner, type QueryContext } from './query-runner.js';
export { QueryLimiter, QueryLimitsSchema, QueryRejected, ClientGone, type QueryLimits, type QueryEvent } from './query-limiter.js';
export { handleQuery, type QueryDeps, type QueryRequest, type QueryResponse } from './query.js';
export { openApiDocument } from './openapi.js';
export { DIMENSIONS, DIMENSION_FIELDS, TimeSeriesRequest, TopNRequest } from './query-schema.js';

export interface ServerOptions {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string } | undefined;
  maxBodyBytes: number;
  maxInflatedBytes: number;
  /** readiness: false while Kafka is not connected or the process is draining */
  ready: () => boolean;
  /** the query API; absent: its routes answer 503 */
  query?: (QueryDeps & { maxBodyBytes: number }) | undefined;
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

// /v1/tenants/<tenant>/kube-meta: the tenant in the path lets a misdirected agent be told 403 apart from 401.
const INGEST = /^\/v1\/tenants\/([a-z0-9][a-z0-9.-]{0,252})\/kube-meta$/;
const QUERY = /^\/v1\/query\/(timeseries|topn)$/;

class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads the body up to the limits, gunzipping when the agent compressed it. */
async function readBody(req: IncomingMessage, maxBytes: number, maxInflated: number): Promise<Buffer> {
  const enc = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (enc !== 'identity' && enc !== 'gzip') throw new BodyError(415, `content-encoding ${enc} is not supported (gzip or identity)`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new BodyError(413, `body of ${declared} bytes is over the limit of ${maxBytes}`);
  const chunks: Buffer[] = [];
  let raw = 0;
  let out = 0;
  const source = enc === 'gzip' ? req.pipe(createGunzip()) : req;
  if (enc === 'gzip') req.on('data', (c: Buffer) => { raw += c.length; if (raw > maxBytes) source.destroy(new BodyError(413, `body is over the limit of ${maxBytes} bytes`)); });
  try {
    for await (const c of source as AsyncIterable<Buffer>) {
      out += c.length;
      if (enc === 'identity' && out > maxBytes) throw new BodyError(413, `body is over the limit of ${maxBytes} bytes`);
      if (out > maxInflated) throw new BodyError(413, `decompressed body is over the limit of ${maxInflated} bytes`);
      chunks.push(c);
    }
  } catch (err) {
    if (err instanceof BodyError) throw err;
    throw new BodyError(400, `body could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

function serveQuery(req: IncomingMessage, res: ServerResponse, kind: 'timeseries' | 'topn', deps: ServerOptions['query']): void {
  const arrived = Date.now();
  if (req.method !== 'GET' && req.method !== 'POST') return send(res, 405, { error: 'method', message: 'GET or POST' });
  if (!deps) {
    req.resume();
    return send(res, 503, { error: 'no-store', message: 'the query API is not configured on this server' });
  }
  // the client closing its connection before the answer stops its query, queued or running
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort(new ClientGone());
  });
  const input =
    req.method === 'GET'
      ? Promise.resolve({ search: new URL(req.url ?? '/', 'http://x').searchParams })
      : readBody(req, deps.maxBodyBytes, deps.maxBodyBytes).then((body) => ({ body }));
  input
    .then((i) => handleQuery(deps, { kind, authorization: req.headers.authorization, input: i, arrived, signal: gone.signal }))
    .then(
      (r) => {
        for (const [k, v] of Object.entries(r.headers ?? {})) if (!res.headersSent) res.setHeader(k, v);
        send(res, r.status, r.body);
      },
      (err: unknown) => {
        const status = err instanceof BodyError ? err.status : 500;
        send(res, status, { error: status === 500 ? 'internal' : 'body', message: err instanceof Error ? err.message : String(err) });
      },
    );
}

/** The api's HTTP(S) server: kubetags ingest, /healthz (alive), /readyz (Kafka connected), /metrics. */
export async function startServer(deps: IngestDeps, opts: ServerOptions): Promise<RunningServer> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      const ok = opts.ready();
      return send(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
    }
    if (req.method === 'GET' && path === '/metrics') {
      deps.metrics.registry.metrics().then(
        (text) => send(res, 200, text, deps.metrics.registry.contentType),
        (err: unknown) => send(res, 500, { error: 'metrics', message: err instanceof Error ? err.message : String(err) }),
      );
      return;
    }
    if (path === '/v1/openapi.json') {
      if (req.method !== 'GET') return send(res, 405, { error: 'method', message: 'GET only' });
      return send(res, 200, openApiDocument());
    }
    const qm = QUERY.exec(path);
    if (qm) return serveQuery(req, res, qm[1] as 'timeseries' | 'topn', opts.query);
    const m = INGEST.exec(path);
    if (!m)
      return send(res, 404, {
        error: 'not-found',
        message: 'POST /v1/tenants/<tenant>/kube-meta, GET|POST /v1/query/{timeseries,topn}, GET /v1/openapi.json, /healthz, /readyz, /metrics',
      });
    if (req.method !== 'POST') return send(res, 405, { error: 'method', message: 'POST only' });
    const end = deps.metrics.seconds.startTimer();
    readBody(req, opts.maxBodyBytes, opts.maxInflatedBytes)
      .then((body) => handleIngest(deps, { tenant: m[1]!, authorization: req.headers.authorization, body }))
      .then(
        (r) => send(res, r.status, r.body),
        (err: unknown) => {
          const status = err instanceof BodyError ? err.status : 500;
          deps.metrics.requests.inc({ status: String(status) });
          send(res, status, { error: status === 500 ? 'internal' : 'body', message: err instanceof Error ? err.message : String(err) });
        },
      )
      .finally(() => end());
  };
  const server = opts.tls
    ? createHttpsServer({ cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, handler)
    : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `${opts.tls ? 'https' : 'http'}://${opts.host}:${port}`,
    // Lets in-flight ingests finish (their Kafka writes are acknowledged or fail) before closing.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
