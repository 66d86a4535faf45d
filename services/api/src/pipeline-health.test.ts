import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { ApiMetrics } from './metrics.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';
import { PipelineHealthResponse, ScrapedPipelineHealth, parsePrometheusText } from './pipeline-health.js';
import { hashToken, TokenIndex } from './tokens.js';

/** A `/metrics` listener serving a prom-client registry, as the collector and enricher do. */
async function metricsServer(registry: Registry): Promise<{ url: string; close(): Promise<void> }> {
  const s = createServer((_req, res) => {
    registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(text);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`, close: () => new Promise((r) => s.close(() => r())) };
}

/**
 * The collector's and enricher's own metric names and labels (services/collector metrics.ts,
 * services/enricher metrics.ts), two tenants in the same processes: each tenant reads its own.
 */
function collectorRegistry(): Registry {
  const r = new Registry();
  const l = ['tenant', 'cloud', 'account'];
  const lag = new Gauge({ name: 'sightline_collector_lag_seconds', help: 'h', labelNames: l, registers: [r] });
  const read = new Counter({ name: 'sightline_collector_objects_read_total', help: 'h', labelNames: l, registers: [r] });
  const records = new Counter({ name: 'sightline_collector_records_total', help: 'h', labelNames: l, registers: [r] });
  const dead = new Counter({ name: 'sightline_collector_dead_letters_total', help: 'h', labelNames: [...l, 'what'], registers: [r] });
  const last = new Gauge({ name: 'sightline_collector_source_last_read_timestamp_seconds', help: 'h', labelNames: [...l, 'source'], registers: [r] });
  lag.set({ tenant: 'acme', cloud: 'aws', account: '111111111111' }, 95);
  read.inc({ tenant: 'acme', cloud: 'aws', account: '111111111111' }, 7);
  records.inc({ tenant: 'acme', cloud: 'aws', account: '111111111111' }, 7000);
  dead.inc({ tenant: 'acme', cloud: 'aws', account: '111111111111', what: 'bad-line' }, 2);
  dead.inc({ tenant: 'acme', cloud: 'aws', account: '111111111111', what: 'bad-object' }, 1);
  last.set({ tenant: 'acme', cloud: 'aws', account: '111111111111', source: 'vpc-a' }, 1_764_000_000);
  last.set({ tenant: 'acme', cloud: 'aws', account: '111111111111', source: 'vpc-b' }, 0);
  lag.set({ tenant: 'other', cloud: 'gcp', account: 'their-project' }, 5);
  records.inc({ tenant: 'other', cloud: 'gcp', account: 'their-project' }, 123);
  return r;
}
function enricherRegistry(): Registry {
  const r = new Registry();
  const lag = new Gauge({ name: 'sightline_enricher_flows_lag_messages', help: 'h', labelNames: ['partition'], registers: [r] });
  const pending = new Gauge({ name: 'sightline_enricher_pending_rows', help: 'h', registers: [r] });
  const att = new Counter({ name: 'sightline_enricher_attributed_total', help: 'h', labelNames: ['tenant', 'side'], registers: [r] });
  const un = new Counter({ name: 'sightline_enricher_unattributed_total', help: 'h', labelNames: ['tenant', 'side'], registers: [r] });
  lag.set({ partition: '0' }, 3);
  lag.set({ partition: '1' }, 4);
  pending.set(10);
  att.inc({ tenant: 'acme', side: 'src' }, 80);
  att.inc({ tenant: 'acme', side: 'dst' }, 70);
  un.inc({ tenant: 'acme', side: 'src' }, 20);
  un.inc({ tenant: 'other', side: 'src' }, 999);
  return r;
}

test('parsePrometheusText reads samples with labels and skips comments', () => {
  const s = parsePrometheusText('# HELP x h\n# TYPE x gauge\nx{a="1",b="q\\"uote"} 2.5\ny 3 1700000000\nbad line\n');
  assert.deepEqual(s, [
    { name: 'x', labels: { a: '1', b: 'q"uote' }, value: 2.5 },
    { name: 'y', labels: {}, value: 3 },
  ]);
});

test('GET /v1/pipeline/health: the tenant of the read token sees its collectors and enricher figures, no other tenant\'s', async (t) => {
  const collector = await metricsServer(collectorRegistry());
  const enricher = await metricsServer(enricherRegistry());
  t.after(() => collector.close());
  t.after(() => enricher.close());
  const reader = randomBytes(24).toString('base64url');
  const ingest = randomBytes(24).toString('base64url');
  const tokens = new TokenIndex({ clusters: [{ tokenSha256: hashToken(ingest), tenant: 'acme', cluster: 'prod' }], readers: [{ tokenSha256: hashToken(reader), tenant: 'acme', name: 'console' }] });
  const deps = { tokens, publisher: { publish: () => Promise.reject(new Error('no ingest')) }, metrics: new ApiMetrics(false), log: createLogger({ level: 'silent' }) };
  const base = { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, maxInflatedBytes: 1 << 23, ready: () => true, console: null };
  // a third endpoint that does not answer: named (host:port only) and the rest still shown
  const server = await startServer(deps, { ...base, health: new ScrapedPipelineHealth({ collectors: [collector.url, 'http://127.0.0.1:9/metrics'], enrichers: [enricher.url], timeoutMs: 2000 }) });
  t.after(() => server.close());

  const res = await fetch(`${server.url}/v1/pipeline/health`, { headers: { authorization: `Bearer ${reader}` } });
  assert.equal(res.status, 200);
  const h = PipelineHealthResponse.parse(await res.json());
  assert.equal(h.mode, 'distributed');
  assert.deepEqual(h.unreachable, ['127.0.0.1:9']);
  assert.deepEqual(
    h.sources.map((s) => [s.cloud, s.account, s.source, s.lagSeconds, s.lastReadAt, s.objectsRead, s.records, s.deadLetters]),
    [
      ['aws', '111111111111', 'vpc-a', 95, 1_764_000_000_000, 7, 7000, 3],
      ['aws', '111111111111', 'vpc-b', 95, null, 7, 7000, 3],
    ],
  );
  assert.ok(!JSON.stringify(h).includes('their-project'), 'another tenant\'s account is not shown');
  assert.deepEqual(h.enricher, { lagMessages: 7, pendingRows: 10, attributedEnds: 150, unattributedEnds: 20 });

  assert.equal((await fetch(`${server.url}/v1/pipeline/health`)).status, 401);
  assert.equal((await fetch(`${server.url}/v1/pipeline/health`, { headers: { authorization: `Bearer ${ingest}` } })).status, 403);
  assert.equal((await fetch(`${server.url}/v1/pipeline/health`, { method: 'POST', headers: { authorization: `Bearer ${reader}` } })).status, 405);

  const none = await startServer(deps, base);
  t.after(() => none.close());
  assert.equal((await fetch(`${none.url}/v1/pipeline/health`, { headers: { authorization: `Bearer ${reader}` } })).status, 503);
});

test('config: without a `pipeline` section the api reads no metrics (the route answers 503); with one, its defaults', async () => {
  const { ApiConfigSchema } = await import('./config.js');
  assert.equal(ApiConfigSchema.parse({ tokensFile: '/t.json' }).pipeline, undefined);
  assert.deepEqual(ApiConfigSchema.parse({ tokensFile: '/t.json', pipeline: { collectors: ['http://c:9464/metrics'] } }).pipeline, { collectors: ['http://c:9464/metrics'], enrichers: [], timeoutMs: 2000 });
  assert.throws(() => ApiConfigSchema.parse({ tokensFile: '/t.json', pipeline: { collector: [] } }));
});
