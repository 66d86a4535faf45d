import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiDocument } from './openapi.js';
import { DIMENSIONS, EdgesRequest, FlowsRequest, DeadLettersRequest, TimeSeriesRequest, TopNRequest } from './query-schema.js';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  const?: unknown;
}

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: { name: string; schema: JsonSchema }[] }>>;
  components: { schemas: Record<string, JsonSchema> };
};

const doc = openApiDocument() as unknown as Doc;
const schemas = doc.components.schemas;

test('openapi: 3.1 document with every query route, GET and POST, and the error answers', () => {
  assert.equal(doc.openapi, '3.1.0');
  for (const p of ['/v1/query/timeseries', '/v1/query/topn', '/v1/query/edges', '/v1/query/flows']) {
    for (const m of ['get', 'post']) {
      const op = doc.paths[p]?.[m];
      assert.ok(op, `${m} ${p}`);
      for (const code of ['200', '400', '401', '403', '422', '429', '504']) assert.ok(op.responses[code], `${m} ${p} ${code}`);
    }
  }
  const dl = doc.paths['/v1/deadletters']?.get;
  assert.ok(dl, 'get /v1/deadletters');
  for (const code of ['200', '400', '401', '403', '429']) assert.ok(dl.responses[code], `deadletters ${code}`);
  // the document is JSON (no functions, no undefined left by the generator), and every $ref points into it
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  const text = JSON.stringify(doc);
  assert.ok(!text.includes('$defs'), 'no nested $defs (their #/$defs refs would point at the document root)');
  for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)) assert.ok(schemas[m[1]!], `$ref ${m[1]}`);
});

test('openapi: the request schemas say what the validators accept', () => {
  const top = schemas.TopNRequest!;
  assert.deepEqual(top.required?.sort(), ['dimensions', 'from', 'to']);
  assert.equal(top.additionalProperties, false);
  assert.deepEqual(top.properties!.dimensions!.items!.enum, DIMENSIONS);
  assert.equal(top.properties!.limit!.maximum, 1000);
  assert.deepEqual(top.properties!.metric!.enum, ['flows', 'packets', 'bytes']);
  const filter = top.properties!.filters!.items!;
  const ops = (filter.oneOf ?? filter.anyOf)!.map((f) => f.properties!.op!.const);
  assert.deepEqual(ops.sort(), ['cidr', 'eq', 'in', 'ne', 'not_in', 'prefix']);
  // relative times are in the document's time forms
  const fromForms = (top.properties!.from!.anyOf ?? top.properties!.from!.oneOf)!;
  assert.ok(fromForms.some((f) => JSON.stringify(f).includes('now')), 'relative time form');
  assert.deepEqual(schemas.TimeSeriesRequest!.required?.sort(), ['from', 'to']);
  const getTop = doc.paths['/v1/query/topn']!.get!.parameters!;
  assert.deepEqual(getTop.find((p) => p.name === 'dimension')!.schema.items!.enum, DIMENSIONS);

  // every property the document names is one the validator takes, and the other way round
  for (const [name, zschema] of [['TopNRequest', TopNRequest], ['TimeSeriesRequest', TimeSeriesRequest], ['EdgesRequest', EdgesRequest], ['FlowsRequest', FlowsRequest]] as const) {
    assert.deepEqual(Object.keys(schemas[name]!.properties!).sort(), Object.keys(zschema.shape).sort(), name);
  }
  // the validator agrees with the document's bounds at their edges
  const ok = { from: 0, to: 60_000, dimensions: [DIMENSIONS[0]] };
  assert.equal(TopNRequest.safeParse({ ...ok, limit: 1000 }).success, true);
  assert.equal(TopNRequest.safeParse({ ...ok, limit: 1001 }).success, false);
  assert.equal(TopNRequest.safeParse({ ...ok, dimensions: DIMENSIONS.slice(0, top.properties!.dimensions!.maxItems! + 1) }).success, false);
  assert.equal(TopNRequest.safeParse({ ...ok, extra: 1 }).success, false);
  assert.equal(schemas.EdgesRequest!.properties!.limit!.maximum, 10_000);
  assert.deepEqual(schemas.EdgesRequest!.properties!.peers!.enum, ['split', 'merged']);
  assert.equal(schemas.FlowsRequest!.properties!.limit!.maximum, 1000);
  assert.equal(EdgesRequest.safeParse({ from: 'now-24h/h', to: 'now/h' }).success, true);
  assert.equal(EdgesRequest.safeParse({ from: 'now-24x', to: 'now' }).success, false);
  assert.equal(FlowsRequest.safeParse({ from: 'now-1h', to: 'now', limit: 1001 }).success, false);
  assert.equal(DeadLettersRequest.safeParse({ limit: 5 }).success, true);
});

test('openapi: served at GET /v1/openapi.json without a token; query routes without a store answer 503 (after the token check)', async (t) => {
  const { startServer } = await import('./server.js');
  const { createLogger } = await import('./log.js');
  const { ApiMetrics } = await import('./metrics.js');
  const { TokenIndex, hashToken } = await import('./tokens.js');
  const token = 'openapi-test-read-token';
  const srv = await startServer(
    { tokens: new TokenIndex({ clusters: [], readers: [{ tokenSha256: hashToken(token), tenant: 'acme' }] }), metrics: new ApiMetrics(false), log: createLogger({ level: 'silent' }), publisher: { publish: async () => undefined } },
    { host: '127.0.0.1', port: 0, maxBodyBytes: 1024, maxInflatedBytes: 1024, ready: () => true },
  );
  t.after(() => srv.close());
  const res = await fetch(`${srv.url}/v1/openapi.json`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(doc)));
  // the token is checked first (401 tells an unauthenticated caller nothing of the deployment)
  const anonymous = await fetch(`${srv.url}/v1/query/topn?from=0&to=60000&dimension=dst_namespace`);
  assert.equal(anonymous.status, 401);
  const q = await fetch(`${srv.url}/v1/query/topn?from=0&to=60000&dimension=dst_namespace`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(q.status, 503);
});
