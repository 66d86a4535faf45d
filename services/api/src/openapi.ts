import { z } from 'zod';
import {
  DeadLettersResponse,
  DIMENSIONS,
  EdgesRequest,
  EdgesResponse,
  ErrorResponse,
  FlowsRequest,
  FlowsResponse,
  MAX_EDGES,
  MAX_PAGE,
  Metric,
  Resolution,
  TimeSeriesRequest,
  TimeSeriesResponse,
  TopNRequest,
  TopNResponse,
} from './query-schema.js';
import { PipelineHealthResponse } from './pipeline-health.js';

export type QueryKind = 'timeseries' | 'topn' | 'edges' | 'flows';

/**
 * The query API as OpenAPI 3.1, generated from the same zod schemas the handlers validate with
 * (3.1 schemas are JSON Schema 2020-12, what z.toJSONSchema writes), so the document cannot
 * drift from the validators.
 */
function schema(s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const js = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'throw' }) as Record<string, unknown>;
  delete js.$schema;
  delete js.id;
  return js;
}

const errors = (extra: Record<string, string> = {}) =>
  Object.fromEntries(
    Object.entries({
      '400': 'bad query; `path` names the field at fault',
      '401': 'missing or unknown bearer token',
      '403': 'a cluster ingest token: queries need a tenant read token',
      '422': 'the query went over a per-query limit (memory, rows read): narrow it',
      '429': 'too many queries of this tenant running or waiting; `Retry-After` says when to try again',
      '504': 'the query did not finish within the time limit',
      ...extra,
    }).map(([code, description]) => [code, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
  );

const p = (name: string, description: string, s: Record<string, unknown>, required = false) => ({ name, in: 'query', required, description, schema: s });
const TIME_TEXT = 'ISO 8601 with a zone, epoch ms, or relative: now, now-1h, now-7d (optionally /m, /h, /d: rounded down)';

function getParameters(kind: QueryKind): Record<string, unknown>[] {
  const where = {
    name: 'where',
    in: 'query',
    style: 'deepObject',
    explode: true,
    description:
      '`where.<dimension>=<value>` (repeated: any of them), `where.<dimension>.<op>=<value>` with op eq, ne, in, not_in (repeated: none of them), prefix or cidr; null only in a POST body',
    schema: { type: 'object', additionalProperties: { type: 'string' } },
  };
  const range = [p('from', `${TIME_TEXT}; inclusive; on a whole second`, { type: 'string' }, true), p('to', `${TIME_TEXT}; exclusive; on a whole second`, { type: 'string' }, true)];
  if (kind === 'flows')
    return [
      ...range,
      where,
      p('limit', `page size, 1 to ${MAX_PAGE}, default 100`, { type: 'integer', minimum: 1, maximum: MAX_PAGE }),
      p('order', 'desc (default): newest first; asc', { type: 'string', enum: ['desc', 'asc'] }),
      p('cursor', 'the previous page\'s `next`', { type: 'string' }),
    ];
  const common = [
    ...range,
    p('metric', 'default bytes', schema(Metric, 'input')),
    p('resolution', 'auto (default): the coarsest rollup that answers exactly', schema(Resolution, 'input')),
    where,
  ];
  if (kind === 'timeseries') return [...common, p('step', 'seconds or 30s / 5m / 1h / 1d', { type: 'string' })];
  if (kind === 'edges')
    return [
      ...common,
      p('limit', `top-K edges by metric, 1 to ${MAX_EDGES}, default 1000`, { type: 'integer', minimum: 1, maximum: MAX_EDGES }),
      p('group', 'workload (default), namespace or cluster', { type: 'string', enum: ['workload', 'namespace', 'cluster'] }),
      p('peers', 'split (default): internet and unattributed nodes; merged: one unattributed node (rollups answer)', { type: 'string', enum: ['split', 'merged'] }),
    ];
  return [
    ...common,
    p('dimension', 'repeated or comma-separated, 1 to 4', { type: 'array', items: { type: 'string', enum: DIMENSIONS } }, true),
    p('limit', '1 to 1000, default 10', { type: 'integer', minimum: 1, maximum: 1000 }),
  ];
}

function route(kind: QueryKind, summary: string, req: string, resp: string): Record<string, unknown> {
  const ok = { '200': { description: 'the answer and the table (rollup) that gave it', content: { 'application/json': { schema: { $ref: `#/components/schemas/${resp}` } } } } };
  return {
    get: { operationId: `${kind}Get`, summary, parameters: getParameters(kind), responses: { ...ok, ...errors() } },
    post: {
      operationId: `${kind}Post`,
      summary,
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${req}` } } } },
      responses: { ...ok, ...errors({ '413': 'body too large' }) },
    },
  };
}

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'Sightline query API',
      version: '1',
      description:
        'Time series, top-N, the service map (edges), raw flows and dead letters over enriched flow logs. The tenant is the read token\'s: `Authorization: Bearer <tenant read token>`.',
    },
    paths: {
      '/v1/query/timeseries': route('timeseries', 'a metric per time bucket', 'TimeSeriesRequest', 'TimeSeriesResponse'),
      '/v1/query/topn': route('topn', 'the top keys of one or more dimensions', 'TopNRequest', 'TopNResponse'),
      '/v1/query/edges': route('edges', 'the service map: who talks to whom, top-K edges between workloads and the internet / unattributed peers', 'EdgesRequest', 'EdgesResponse'),
      '/v1/query/flows': route('flows', 'raw flows, a page at a time (cursor pagination on time, batch, row)', 'FlowsRequest', 'FlowsResponse'),
      '/v1/pipeline/health': {
        get: {
          operationId: 'pipelineHealthGet',
          summary: "the tenant's pipeline health (collector lag per source, dead letters, enricher lag and unattributed ends) from the services' metrics",
          responses: {
            '200': { description: 'figures as of `at`', content: { 'application/json': { schema: { $ref: '#/components/schemas/PipelineHealth' } } } },
            ...errors({ '503': 'this server reads no pipeline metrics (config `pipeline`)' }),
          },
        },
      },
      '/v1/deadletters': {
        get: {
          operationId: 'deadLettersGet',
          summary: 'the tenant\'s dead letters (objects and lines that could not be read), newest first',
          parameters: [
            p('from', `${TIME_TEXT}; absent: the oldest kept`, { type: 'string' }),
            p('to', `${TIME_TEXT}; absent: now`, { type: 'string' }),
            p('limit', `1 to ${MAX_PAGE}, default 100`, { type: 'integer', minimum: 1, maximum: MAX_PAGE }),
          ],
          responses: {
            '200': { description: 'the letters kept by this server', content: { 'application/json': { schema: { $ref: '#/components/schemas/DeadLettersResponse' } } } },
            ...errors(),
          },
        },
      },
    },
    components: {
      securitySchemes: { tenantToken: { type: 'http', scheme: 'bearer', description: 'tenant read token (not a cluster ingest token)' } },
      schemas: {
        TimeSeriesRequest: schema(TimeSeriesRequest, 'input'),
        TopNRequest: schema(TopNRequest, 'input'),
        TimeSeriesResponse: schema(TimeSeriesResponse, 'output'),
        TopNResponse: schema(TopNResponse, 'output'),
        EdgesRequest: schema(EdgesRequest, 'input'),
        EdgesResponse: schema(EdgesResponse, 'output'),
        FlowsRequest: schema(FlowsRequest, 'input'),
        FlowsResponse: schema(FlowsResponse, 'output'),
        DeadLettersResponse: schema(DeadLettersResponse, 'output'),
        PipelineHealth: schema(PipelineHealthResponse, 'output'),
        Error: schema(ErrorResponse, 'output'),
      },
    },
    security: [{ tenantToken: [] }],
  };
  return cached;
}
