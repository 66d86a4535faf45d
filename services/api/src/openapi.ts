import { z } from 'zod';
import { DIMENSIONS, ErrorResponse, Metric, Resolution, TimeSeriesRequest, TimeSeriesResponse, TopNRequest, TopNResponse } from './query-schema.js';

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

function getParameters(kind: 'timeseries' | 'topn'): Record<string, unknown>[] {
  const p = (name: string, description: string, s: Record<string, unknown>, required = false) => ({ name, in: 'query', required, description, schema: s });
  const common = [
    p('from', 'ISO 8601 with a zone, or epoch ms; inclusive; on a whole second', { type: 'string' }, true),
    p('to', 'ISO 8601 with a zone, or epoch ms; exclusive; on a whole second', { type: 'string' }, true),
    p('metric', 'default bytes', schema(Metric, 'input')),
    p('resolution', 'auto (default): the coarsest rollup that answers exactly', schema(Resolution, 'input')),
    {
      name: 'where',
      in: 'query',
      style: 'deepObject',
      explode: true,
      description: '`where.<dimension>=<value>`, repeated for any of several values; null only in a POST body',
      schema: { type: 'object', propertyNames: { enum: DIMENSIONS }, additionalProperties: { type: 'string' } },
    },
  ];
  if (kind === 'timeseries') return [...common, p('step', 'seconds or 30s / 5m / 1h / 1d', { type: 'string' })];
  return [
    ...common,
    p('dimension', 'repeated or comma-separated, 1 to 4', { type: 'array', items: { type: 'string', enum: DIMENSIONS } }, true),
    p('limit', '1 to 1000, default 10', { type: 'integer', minimum: 1, maximum: 1000 }),
  ];
}

function route(kind: 'timeseries' | 'topn', summary: string, req: string, resp: string): Record<string, unknown> {
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
        'Time series and top-N over enriched flow logs. The tenant is the read token\'s: `Authorization: Bearer <tenant read token>`.',
    },
    paths: {
      '/v1/query/timeseries': route('timeseries', 'a metric per time bucket', 'TimeSeriesRequest', 'TimeSeriesResponse'),
      '/v1/query/topn': route('topn', 'the top keys of one or more dimensions', 'TopNRequest', 'TopNResponse'),
    },
    components: {
      securitySchemes: { tenantToken: { type: 'http', scheme: 'bearer', description: 'tenant read token (not a cluster ingest token)' } },
      schemas: {
        TimeSeriesRequest: schema(TimeSeriesRequest, 'input'),
        TopNRequest: schema(TopNRequest, 'input'),
        TimeSeriesResponse: schema(TimeSeriesResponse, 'output'),
        TopNResponse: schema(TopNResponse, 'output'),
        Error: schema(ErrorResponse, 'output'),
      },
    },
    security: [{ tenantToken: [] }],
  };
  return cached;
}
