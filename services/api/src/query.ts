import type { Logger } from './log.js';
import { ClientGone, QueryRejected } from './query-limiter.js';
import { QueryTimeout, QueryTooLarge, type QueryRunner } from './query-runner.js';
import type { QueryKind } from './openapi.js';
import {
  describeIssue,
  EdgesRequest,
  edgesAnswer,
  encodeCursor,
  flowRowView,
  FlowsRequest,
  fromSearchParams,
  QueryError,
  TimeSeriesRequest,
  toStoreEdges,
  toStoreFlows,
  toStoreTimeSeries,
  toStoreTopN,
  TopNRequest,
} from './query-schema.js';
import { bearer, type TokenIndex } from './tokens.js';

export interface QueryDeps {
  tokens: TokenIndex;
  /** null: no store configured, the routes answer 503 */
  runner: QueryRunner | null;
  /** every query's time limit */
  timeoutMs: number;
  log: Logger;
}

export interface QueryRequest {
  kind: QueryKind;
  authorization: string | undefined;
  /** GET: the query string; POST: the JSON body (already read) */
  input: { search: URLSearchParams } | { body: Buffer };
  /** when the request arrived (epoch ms): the time limit runs from there */
  arrived: number;
  /** aborted with ClientGone when the client closes the connection before the answer: the query stops (or leaves the queue) */
  signal?: AbortSignal | undefined;
}

export interface QueryResponse {
  status: number;
  body: Record<string, unknown>;
  /** extra response headers (Retry-After of a 429) */
  headers?: Record<string, string>;
}

const fail = (status: number, error: string, message: string, path?: string): QueryResponse => ({
  status,
  body: path === undefined ? { error, message } : { error, message, path },
});

/**
 * One dashboard query. The tenant comes from the read token and nowhere else, so no request
 * can name another tenant; the store puts it first in the WHERE clause. Checks run token first
 * (401 unknown, 403 an ingest token), then the query (400 with the path at fault), then admission
 * (429 when the tenant's queue is full), then the store under the time limit (504) and the
 * per-query limits (422). A client that left gets 499, which nobody reads: its query was stopped.
 */
export async function handleQuery(deps: QueryDeps, req: QueryRequest): Promise<QueryResponse> {
  const token = bearer(req.authorization);
  const who = token === null ? null : deps.tokens.lookupReader(token);
  if (who === null) return fail(401, 'unauthenticated', token === null ? 'missing or malformed bearer token' : 'unknown token');
  if (who === 'ingest-token') return fail(403, 'ingest-token', 'this is a cluster ingest token; queries need a tenant read token');
  if (deps.runner === null) return fail(503, 'no-store', 'the query API has no store configured');

  let raw: unknown;
  if ('search' in req.input) raw = fromSearchParams(req.input.search);
  else {
    try {
      raw = JSON.parse(req.input.body.toString('utf8'));
    } catch (err) {
      return fail(400, 'bad-json', `body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const parsed =
    req.kind === 'timeseries'
      ? ({ kind: 'timeseries', ...TimeSeriesRequest.safeParse(raw) } as const)
      : req.kind === 'topn'
        ? ({ kind: 'topn', ...TopNRequest.safeParse(raw) } as const)
        : req.kind === 'edges'
          ? ({ kind: 'edges', ...EdgesRequest.safeParse(raw) } as const)
          : ({ kind: 'flows', ...FlowsRequest.safeParse(raw) } as const);
  if (!parsed.success) {
    const d = describeIssue(parsed.error);
    return fail(400, 'bad-query', d.message, d.path);
  }
  const ctx = { deadline: req.arrived + deps.timeoutMs, limitMs: deps.timeoutMs, signal: req.signal };
  const started = Date.now();
  // relative times (now-1h) are resolved against the request's arrival, once for the whole query
  const now = req.arrived;
  try {
    if (parsed.kind === 'edges') {
      const r = parsed.data;
      const plan = toStoreEdges(r, now);
      const res = await deps.runner.aggregate(who.tenant, plan.query, ctx);
      log(deps, who.tenant, req.kind, res.source, started);
      return { status: 200, body: { rollup: res.source, metric: r.metric, from: plan.query.from, to: plan.query.to, group: r.group, peers: r.peers, ...edgesAnswer(plan, r, res.rows) } };
    }
    if (parsed.kind === 'flows') {
      const r = parsed.data;
      const query = toStoreFlows(r, now);
      // one row more than the page: whether there is a next page, without a second query
      const res = await deps.runner.listFlows(who.tenant, { ...query, limit: r.limit + 1 }, ctx);
      log(deps, who.tenant, req.kind, 'raw', started);
      const page = res.rows.slice(0, r.limit);
      const last = page[page.length - 1];
      const next = res.rows.length > r.limit && last !== undefined ? encodeCursor(last.position, r.order) : null;
      return { status: 200, body: { from: query.from, to: query.to, order: r.order, rows: page.map(flowRowView), next } };
    }
    if (parsed.kind === 'timeseries') {
      const r = parsed.data;
      const { query, step } = toStoreTimeSeries(r, now);
      const res = await deps.runner.timeSeries(who.tenant, query, ctx);
      log(deps, who.tenant, req.kind, res.source, started);
      return { status: 200, body: { rollup: res.source, metric: r.metric, from: query.from, to: query.to, step, points: res.points } };
    }
    const r = parsed.data;
    const { query } = toStoreTopN(r, now);
    const res = await deps.runner.topN(who.tenant, query, ctx);
    log(deps, who.tenant, req.kind, res.source, started);
    return {
      status: 200,
      body: {
        rollup: res.source,
        metric: r.metric,
        from: query.from,
        to: query.to,
        dimensions: r.dimensions,
        rows: res.rows.map((row) => ({ key: Object.fromEntries(r.dimensions.map((d, i) => [d, row.key[i] ?? null])), value: row.value })),
      },
    };
  } catch (err) {
    if (err instanceof QueryError) return fail(400, 'bad-query', `${err.path ?? '(request)'}: ${err.message}`, err.path);
    if (err instanceof QueryRejected) {
      deps.log.warn({ tenant: who.tenant, kind: req.kind }, 'query: tenant queue full (429)');
      return { ...fail(429, 'too-many-queries', err.message), headers: { 'retry-after': String(err.retryAfterSeconds) } };
    }
    if (err instanceof ClientGone) {
      deps.log.debug({ tenant: who.tenant, kind: req.kind }, 'query: client gone, stopped');
      return fail(499, 'client-gone', err.message);
    }
    if (err instanceof QueryTooLarge) return fail(422, 'too-large', err.message);
    if (err instanceof QueryTimeout) {
      deps.log.warn({ tenant: who.tenant, kind: req.kind, limitMs: err.limitMs }, 'query: time limit reached');
      return fail(504, 'timeout', err.message);
    }
    deps.log.error({ tenant: who.tenant, kind: req.kind, err: err instanceof Error ? err.message : String(err) }, 'query: store failed');
    return fail(500, 'internal', 'the store could not answer this query');
  }
}

function log(deps: QueryDeps, tenant: string, kind: string, rollup: string, started: number): void {
  deps.log.debug({ tenant, kind, rollup, ms: Date.now() - started }, 'query: answered');
}
