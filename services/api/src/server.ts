import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createGunzip } from 'node:zlib';
import { clientKey, FailureLimiter } from './auth-limiter.js';
import { authenticateIngest, handleIngest, IngestChecks, LastEpochs, type IngestDeps } from './ingest.js';
import { Semaphore } from './semaphore.js';
import { bearer, type ClusterIdentity } from './tokens.js';
import { openApiDocument, type QueryKind } from './openapi.js';
import { handleQuery, type QueryDeps } from './query.js';
import { ClientGone } from './query-limiter.js';
import { handleDeadLetters, type DeadLetterSource } from './query-deadletters.js';
import { loadConsoleSite, type ConsoleSite } from './console-static.js';
import type { PipelineHealthSource } from './pipeline-health.js';

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
  /** readiness: not ready while Kafka is not connected, the store has no schema yet or the process is draining */
  ready: () => boolean | Readiness | Promise<Readiness>;
  /** the query store's readiness: queries answer 503 until it is ready (absent: always ready) */
  queryReady?: (() => Promise<Readiness>) | undefined;
  /** slow clients and connection count; defaults as in the config (config.ts `listen`) */
  http?: Partial<HttpLimits> | undefined;
  /** ingest body and envelope limits beyond the sizes; defaults as in the config (`ingest`) */
  ingest?: Partial<IngestLimits> | undefined;
  /** failed authentications per client address (`auth`) */
  auth?: Partial<AuthLimits> | undefined;
  /** the query API; absent: its routes answer 503 */
  query?: (QueryDeps & { maxBodyBytes: number }) | undefined;
  /** GET /v1/deadletters: the tenant's dead letters; absent: answered with `available: false` */
  deadLetters?: DeadLetterSource | undefined;
  /** the web console under /console/; absent: the build of services/console if there is one; null: none */
  console?: ConsoleSite | null | undefined;
  /** GET /v1/pipeline/health for the console; absent: 503 */
  health?: PipelineHealthSource | undefined;
}

export interface Readiness {
  ok: boolean;
  /** why not ready, one line each, shown on /readyz (no secret, no path) */
  reasons: string[];
}

export interface HttpLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface IngestLimits {
  bodyTimeoutMs: number;
  maxConcurrentInflations: number;
  maxQueuedInflations: number;
  inflateQueueMs: number;
  maxFutureSkewMs: number;
  maxPastSkewMs: number;
}

export interface AuthLimits {
  failureBurst: number;
  failuresPerSecond: number;
  maxClients: number;
}

const HTTP_DEFAULTS: HttpLimits = { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000 };
const INGEST_DEFAULTS: IngestLimits = { bodyTimeoutMs: 30_000, maxConcurrentInflations: 2, maxQueuedInflations: 16, inflateQueueMs: 2_000, maxFutureSkewMs: 10 * 60_000, maxPastSkewMs: 24 * 3_600_000 };
const AUTH_DEFAULTS: AuthLimits = { failureBurst: 20, failuresPerSecond: 1, maxClients: 10_000 };

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

// /v1/tenants/<tenant>/kube-meta: the tenant in the path lets a misdirected agent be told 403 apart from 401.
const INGEST = /^\/v1\/tenants\/([a-z0-9][a-z0-9.-]{0,252})\/kube-meta$/;
const QUERY = /^\/v1\/query\/(timeseries|topn|edges|flows)$/;

class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Reads the body up to the limits, gunzipping when the agent compressed it, within `timeoutMs`
 * (408 after: a client trickling bytes cannot hold a reader forever). On any failure the rest
 * of the body is left unread: the caller answers and closes the connection (closeAfter).
 */
function readBody(req: IncomingMessage, maxBytes: number, maxInflated: number, opts: { timeoutMs?: number } = {}): Promise<Buffer> {
  const enc = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (enc !== 'identity' && enc !== 'gzip') return Promise.reject(new BodyError(415, `content-encoding ${enc} is not supported (gzip or identity)`));
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) return Promise.reject(new BodyError(413, `body of ${declared} bytes is over the limit of ${maxBytes}`));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let raw = 0;
    let out = 0;
    let finished = false;
    const gunzip = enc === 'gzip' ? createGunzip() : null;
    const source = gunzip ?? req;
    const done = (err?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      source.off('data', onOut);
      req.off('data', onRaw);
      if (err === undefined) return resolve(Buffer.concat(chunks));
      if (gunzip) {
        req.unpipe(gunzip);
        gunzip.destroy();
      }
      reject(err);
    };
    const onRaw = (c: Buffer) => {
      raw += c.length;
      if (raw > maxBytes) done(new BodyError(413, `body is over the limit of ${maxBytes} bytes`));
    };
    const onOut = (c: Buffer) => {
      out += c.length;
      if (gunzip && out > maxInflated) return done(new BodyError(413, `decompressed body is over the limit of ${maxInflated} bytes`));
      chunks.push(c);
    };
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => done(new BodyError(408, `the body did not arrive within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('data', onRaw);
    source.on('data', onOut);
    source.once('end', () => done());
    source.once('error', (err: Error) => done(err instanceof BodyError ? err : new BodyError(400, `body could not be read: ${err.message}`)));
    req.once('close', () => {
      if (!req.complete) done(new BodyError(400, 'the client closed the connection before the end of the body'));
    });
    if (gunzip) req.pipe(gunzip);
  });
}

/**
 * After an answer given without reading the whole body: the connection closes once the answer is
 * out, and what the client still sends is discarded (never inflated), at most `maxBytes` of it and
 * for at most `timeoutMs`, after which the socket is destroyed.
 */
function closeAfter(req: IncomingMessage, res: ServerResponse, maxBytes: number, timeoutMs: number): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  if (req.complete) return;
  let seen = 0;
  const kill = setTimeout(() => req.socket.destroy(), timeoutMs);
  kill.unref();
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > maxBytes) req.socket.destroy();
  });
  req.once('close', () => clearTimeout(kill));
  req.resume();
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function serveQuery(req: IncomingMessage, res: ServerResponse, kind: QueryKind, deps: ServerOptions['query']): void {
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

async function readiness(ready: ServerOptions['ready']): Promise<Readiness> {
  const r = await ready();
  return typeof r === 'boolean' ? { ok: r, reasons: r ? [] : ['not ready'] } : r;
}

/**
 * The api's public HTTP(S) server: kubetags ingest, the query API, /healthz (alive), /readyz.
 * `/metrics` is not here: it names tenants, and has a listener of its own (metrics.ts).
 */
export async function startServer(deps: IngestDeps, opts: ServerOptions): Promise<RunningServer> {
  const http: HttpLimits = { ...HTTP_DEFAULTS, ...opts.http };
  const limits: IngestLimits = { ...INGEST_DEFAULTS, ...opts.ingest };
  const authLimits: AuthLimits = { ...AUTH_DEFAULTS, ...opts.auth };
  const checks: IngestChecks = { ...IngestChecks.defaults(), maxFutureSkewMs: limits.maxFutureSkewMs, maxPastSkewMs: limits.maxPastSkewMs, epochs: new LastEpochs() };
  const inflations = new Semaphore(limits.maxConcurrentInflations, limits.maxQueuedInflations);
  const failures = new FailureLimiter({ burst: authLimits.failureBurst, perSecond: authLimits.failuresPerSecond, maxClients: authLimits.maxClients });
  const clientOf = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
  // the failure bucket: an IPv6 client by its /64, which one host may hold whole (auth-limiter.ts)
  const bucketOf = (req: IncomingMessage) => clientKey(req.socket.remoteAddress);
  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    closeAfter(req, res, opts.maxBodyBytes, limits.bodyTimeoutMs);
    send(res, status, body);
  };

  /** A client that spent its failed-authentication burst gets 429 before its token is looked at. */
  const rateLimited = (req: IncomingMessage, res: ServerResponse, route: 'ingest' | 'query'): boolean => {
    const waitMs = failures.blockedFor(bucketOf(req));
    if (waitMs === 0) return false;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    deps.metrics.authFailures.inc({ route, reason: 'rate-limited' });
    if (route === 'ingest') deps.metrics.requests.inc({ status: '429' });
    refuse(req, res, 429, { error: 'rate-limited', message: `too many failed authentications from this address; retry in ${seconds} s` }, { 'retry-after': String(seconds) });
    return true;
  };
  /** A refused token: logged (never the token), counted, and taken from the client's bucket. */
  const authFailed = (req: IncomingMessage, route: 'ingest' | 'query', reason: string) => {
    const client = clientOf(req);
    deps.metrics.authFailures.inc({ route, reason });
    const limited = failures.fail(bucketOf(req));
    deps.log.warn({ client, route, method: req.method, reason, ...(limited ? { rateLimited: true } : {}) }, limited ? 'auth: request refused; client rate-limited' : 'auth: request refused');
  };

  const serveIngest = async (req: IncomingMessage, res: ServerResponse, identity: ClusterIdentity): Promise<void> => {
    const gzip = (req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
    let release: (() => void) | null = null;
    if (gzip) {
      const gone = new AbortController();
      const onClose = () => gone.abort();
      res.once('close', onClose);
      deps.metrics.inflateQueued.inc();
      try {
        release = await inflations.acquire(limits.inflateQueueMs, gone.signal);
      } finally {
        deps.metrics.inflateQueued.dec();
        res.off('close', onClose);
      }
      if (release === null) {
        if (gone.signal.aborted) return;
        deps.metrics.requests.inc({ status: '503' });
        deps.metrics.rejected.inc({ reason: 'busy' });
        return refuse(req, res, 503, { error: 'busy', message: 'too many compressed bodies are being inflated now; retry' }, { 'retry-after': '1' });
      }
      deps.metrics.inflating.inc();
    }
    let body: Buffer;
    try {
      body = await readBody(req, opts.maxBodyBytes, opts.maxInflatedBytes, { timeoutMs: limits.bodyTimeoutMs });
    } catch (err) {
      const status = err instanceof BodyError ? err.status : 400;
      deps.metrics.requests.inc({ status: String(status) });
      deps.metrics.rejected.inc({ reason: status === 408 ? 'body-timeout' : status === 413 ? 'too-large' : status === 415 ? 'encoding' : 'body' });
      return refuse(req, res, status, { error: 'body', message: err instanceof Error ? err.message : String(err) });
    } finally {
      if (release !== null) {
        release();
        deps.metrics.inflating.dec();
      }
    }
    const r = await handleIngest(deps, { identity, body }, checks);
    send(res, r.status, r.body);
  };

  /**
   * The read token's reader for the query routes and the pipeline health, checked before any byte
   * of a body is read: rate limit, then 401 (no or unknown token) or 403 (an ingest token); null
   * once the refusal is sent.
   */
  const reader = (req: IncomingMessage, res: ServerResponse, needs: string) => {
    if (rateLimited(req, res, 'query')) return null;
    const token = bearer(req.headers.authorization);
    const who = token === null ? null : (opts.query?.tokens ?? deps.tokens).lookupReader(token);
    if (who === null) {
      authFailed(req, 'query', token === null ? 'missing-token' : 'unknown-token');
      refuse(req, res, 401, { error: 'unauthenticated', message: token === null ? 'missing or malformed bearer token' : 'unknown token' });
      return null;
    }
    if (who === 'ingest-token') {
      authFailed(req, 'query', 'ingest-token');
      refuse(req, res, 403, { error: 'ingest-token', message: `this is a cluster ingest token; ${needs} a tenant read token` });
      return null;
    }
    return who;
  };

  const site = opts.console === undefined ? loadConsoleSite() : opts.console;
  /** GET /v1/pipeline/health: a read token's tenant, checked as the query routes check theirs */
  const serveHealth = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET') return send(res, 405, { error: 'method', message: 'GET only' });
    const who = reader(req, res, 'the pipeline health needs');
    if (who === null) return;
    if (!opts.health) return send(res, 503, { error: 'no-health', message: 'this server reads no pipeline metrics (config `pipeline`)' });
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    opts.health.health(who.tenant, gone.signal).then(
      (h) => send(res, 200, h),
      (err: unknown) => {
        deps.log.error({ tenant: who.tenant, err: err instanceof Error ? err.message : String(err) }, 'pipeline health: failed');
        send(res, 500, { error: 'internal', message: 'the pipeline health could not be read' });
      },
    );
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      readiness(opts.ready).then(
        (r) => send(res, r.ok ? 200 : 503, r.ok ? { status: 'ready' } : { status: 'not ready', reasons: r.reasons }),
        () => send(res, 503, { status: 'not ready', reasons: ['readiness check failed'] }),
      );
      return;
    }
    if (site?.handle(req, res)) return;
    if (path === '/v1/pipeline/health') return serveHealth(req, res);
    if (path === '/v1/openapi.json') {
      if (req.method !== 'GET') return send(res, 405, { error: 'method', message: 'GET only' });
      return send(res, 200, openApiDocument());
    }
    if (path === '/v1/deadletters') {
      if (req.method !== 'GET') return send(res, 405, { error: 'method', message: 'GET only' });
      if (rateLimited(req, res, 'query')) return;
      const r = handleDeadLetters(
        { tokens: opts.query?.tokens ?? deps.tokens, source: opts.deadLetters ?? null },
        { authorization: req.headers.authorization, search: new URL(req.url ?? '/', 'http://x').searchParams, arrived: Date.now() },
      );
      if (r.status === 401 || r.status === 403) authFailed(req, 'query', r.status === 403 ? 'ingest-token' : bearer(req.headers.authorization) === null ? 'missing-token' : 'unknown-token');
      return send(res, r.status, r.body);
    }
    const qm = QUERY.exec(path);
    if (qm) {
      const kind = qm[1] as QueryKind;
      if (req.method !== 'GET' && req.method !== 'POST') return serveQuery(req, res, kind, opts.query);
      // who is asking, before any byte of a POST body is read (handleQuery checks the same again)
      if (reader(req, res, 'queries need') === null) return;
      if (!opts.query || !opts.queryReady) return serveQuery(req, res, kind, opts.query);
      // a store without its schema would answer every query with an error: 503 until it has one
      opts.queryReady().then(
        (r) => (r.ok ? serveQuery(req, res, kind, opts.query) : refuse(req, res, 503, { error: 'store-not-ready', message: `the store is not ready: ${r.reasons.join('; ')}` }, { 'retry-after': '5' })),
        () => refuse(req, res, 503, { error: 'store-not-ready', message: 'the store is not ready' }, { 'retry-after': '5' }),
      );
      return;
    }
    const m = INGEST.exec(path);
    if (!m)
      return send(res, 404, {
        error: 'not-found',
        message: 'POST /v1/tenants/<tenant>/kube-meta, GET|POST /v1/query/{timeseries,topn,edges,flows}, GET /v1/deadletters, GET /v1/openapi.json, /healthz, /readyz',
      });
    if (req.method !== 'POST') return send(res, 405, { error: 'method', message: 'POST only' });
    // the token, and whether it may write to the URL's tenant, before any byte of the body is read
    if (rateLimited(req, res, 'ingest')) return;
    const auth = authenticateIngest(deps, m[1]!, req.headers.authorization);
    if (!auth.ok) {
      authFailed(req, 'ingest', auth.reason);
      return refuse(req, res, auth.response.status, auth.response.body);
    }
    const end = deps.metrics.seconds.startTimer();
    serveIngest(req, res, auth.identity)
      .catch((err: unknown) => {
        // a bug, not a client mistake: logged here, never shown
        deps.metrics.requests.inc({ status: '500' });
        deps.log.error({ tenant: auth.identity.tenant, cluster: auth.identity.cluster, err: err instanceof Error ? err.message : String(err) }, 'ingest: failed');
        refuse(req, res, 500, { error: 'internal', message: 'the request could not be handled; retry' });
      })
      .finally(() => end());
  };
  // Slow clients: headers and the whole request each have a deadline, checked every second
  // (Node's default interval is 30 s, which lets a trickling client hold a connection that long).
  const serverOpts = {
    headersTimeout: http.headersTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, http.headersTimeoutMs),
  };
  const server = opts.tls
    ? createHttpsServer({ ...serverOpts, cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, handler)
    : createHttpServer(serverOpts, handler);
  server.maxConnections = http.maxConnections;
  // Idle sockets (a TLS handshake that never ends, a connection that never sends a request). A
  // query's socket is idle while the store works: it gets its whole time limit, and then some.
  server.setTimeout(Math.max(http.requestTimeoutMs, (opts.query?.timeoutMs ?? 0) + 5_000), (socket) => socket.destroy());
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
