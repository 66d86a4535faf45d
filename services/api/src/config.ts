import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KafkaBrokers, extendKafkaConfig } from '@sightline/bus';
import { StoreConfigSchema } from '@sightline/store';
import { QueryLimitsSchema } from './query-limiter.js';
import { TokenFileSchema } from './tokens.js';
import { ConfigFileError, loadServiceConfig } from '@sightline/config';
import { PipelineMetricsSchema } from './pipeline-health.js';

/**
 * The query API's section: the store, the time limit, the body limit and the admission and engine
 * limits. The API's config and the embedded mode (`sightline start`) open their runner from it.
 */
export const QueryConfigSchema = z.strictObject({
  /** the store section every service shares (packages/store StoreConfigSchema); no inline password here */
  store: StoreConfigSchema.superRefine((st, ctx) => {
    if (st.engine === 'clickhouse' && st.password !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'give passwordFile (a file holding the password): the api takes no inline password' });
    }
  }),
  /** every query stops after this long (504) */
  timeoutMs: z.number().int().min(1).max(600_000).default(15_000),
  /** request body limit of a POST query */
  maxBodyBytes: z.number().int().min(1024).default(64 * 1024),
  /** admission (per tenant and in all, 429 past the queue) and per-query engine limits: see query-limiter.ts */
  limits: QueryLimitsSchema.prefault({}),
});
export type QueryConfig = z.infer<typeof QueryConfigSchema>;

/**
 * The api service's configuration file (JSON). Every field has a default except the tokens file.
 * Unknown keys are refused with their path: a mistyped key would otherwise silently mean its default.
 */
export const ApiConfigSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8443),
      /** connections open at once (server.maxConnections); more are closed as they arrive */
      maxConnections: z.number().int().min(1).default(1024),
      /** a client must send its request headers within this long (server.headersTimeout) */
      headersTimeoutMs: z.number().int().min(100).default(10_000),
      /** a client must send its whole request within this long (server.requestTimeout) */
      requestTimeoutMs: z.number().int().min(100).default(60_000),
      /** an idle keep-alive connection is closed after this long */
      keepAliveTimeoutMs: z.number().int().min(100).default(5_000),
    })
    .refine((l) => l.headersTimeoutMs <= l.requestTimeoutMs, { message: 'headersTimeoutMs cannot be longer than requestTimeoutMs', path: ['headersTimeoutMs'] })
    .prefault({}),
  /**
   * Prometheus `/metrics` on a listener of its own: the metrics name tenants and clusters, so they
   * are never served on the public port. Loopback by default; port 0 picks a free one.
   */
  metrics: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(9466),
    })
    .prefault({}),
  /** failed authentications, per client address (the TCP peer; a proxy in front counts as one client) */
  auth: z
    .strictObject({
      /** failures a client may make in a burst before it is answered 429 without its token being looked at */
      failureBurst: z.number().int().min(1).default(20),
      /** failures a client is allowed again per second once the burst is spent */
      failuresPerSecond: z.number().positive().default(1),
      /** client addresses remembered (least recently failed forgotten first) */
      maxClients: z.number().int().min(1).default(10_000),
    })
    .prefault({}),
  /** HTTPS certificate and key (PEM files). Absent: plain HTTP, for a TLS-terminating proxy in front. */
  tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  /** token hash → tenant and cluster (see tokens.ts); or `tokens` inline (the backend's one file sets them) */
  tokensFile: z.string().min(1).optional(),
  /** the tokens themselves (hashes), as the one backend file gives them from its tenants */
  tokens: TokenFileSchema.optional(),
  /** brokers, topic prefix (the kube-meta topic is `<prefix>kube-meta`), TLS and SASL: @sightline/bus' shared Kafka config */
  kafka: extendKafkaConfig({
    brokers: KafkaBrokers.default(['127.0.0.1:9092']),
    clientId: z.string().min(1).default('sightline-api'),
    /** create missing topics at start (the compacted kube-meta topic with its specs) */
    ensureTopics: z.boolean().default(true),
  }).prefault({}),
  ingest: z
    .strictObject({
      /** request body limit, compressed as sent; a 20,000-pod snapshot goes in parts well below it */
      maxBodyBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
      /** decompressed limit, against gzip bombs */
      maxInflatedBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
      /** a body must arrive within this long once its headers were accepted (408 after) */
      bodyTimeoutMs: z.number().int().min(100).default(30_000),
      /** gzip bodies inflated at once (each costs a core and up to maxInflatedBytes of memory) */
      maxConcurrentInflations: z.number().int().min(1).default(2),
      /** gzip bodies waiting for an inflation slot; more are answered 503 with Retry-After */
      maxQueuedInflations: z.number().int().min(0).default(16),
      /** how long a gzip body waits for a slot before its 503 */
      inflateQueueMs: z.number().int().min(0).default(2_000),
      /** an envelope's sentAt may be this far ahead of the server's clock (clock skew) */
      maxFutureSkewMs: z.number().int().min(0).default(10 * 60_000),
      /** and this far behind it: older envelopes are stale (the history window is 24 h) */
      maxPastSkewMs: z.number().int().min(0).default(24 * 3_600_000),
    })
    .prefault({}),
  /**
   * The query API. Absent: the routes answer 503 (an ingest-only deployment). The store is the
   * one the flow writer fills: a DuckDB file (one-process mode) or a ClickHouse database.
   */
  query: QueryConfigSchema.optional(),
  /**
   * Where the console's Pipeline health page reads the collectors' and enrichers' metrics (their
   * `/metrics` URLs). Absent: GET /v1/pipeline/health answers 503.
   */
  pipeline: PipelineMetricsSchema.optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).refine((c) => (c.tokensFile === undefined) !== (c.tokens === undefined), { message: 'exactly one of tokensFile and tokens', path: ['tokensFile'] });
export type ApiConfig = z.infer<typeof ApiConfigSchema>;

export function loadConfig(file: string): ApiConfig {
  try {
    // JSON or YAML, the api's part of the one file or its own file; errors by place, never a value (packages/config)
    return loadServiceConfig(file, ApiConfigSchema, { service: 'api' });
  } catch (err) {
    throw err instanceof ConfigFileError ? new Error(`config ${file}: ${err.problems.join('; ')}`) : err;
  }
}
