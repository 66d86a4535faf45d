import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { QueryLimitsSchema } from './query-limiter.js';

/** The api service's configuration file (JSON). Every field has a default except the tokens file. */
export const ApiConfigSchema = z.object({
  listen: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8443),
    })
    .prefault({}),
  /** HTTPS certificate and key (PEM files). Absent: plain HTTP, for a TLS-terminating proxy in front. */
  tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  /** token hash → tenant and cluster (see tokens.ts) */
  tokensFile: z.string().min(1),
  kafka: z
    .object({
      brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
      clientId: z.string().default('sightline-api'),
      /** prefix of the topic names (see @sightline/bus); the kube-meta topic is `<prefix>kube-meta` */
      topicPrefix: z.string().regex(/^[a-zA-Z0-9._-]*$/).default('sightline.'),
      /** create missing topics at start (the compacted kube-meta topic with its specs) */
      ensureTopics: z.boolean().default(true),
    })
    .prefault({}),
  ingest: z
    .object({
      /** request body limit, compressed as sent; a 20,000-pod snapshot goes in parts well below it */
      maxBodyBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
      /** decompressed limit, against gzip bombs */
      maxInflatedBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
    })
    .prefault({}),
  /**
   * The query API. Absent: the routes answer 503 (an ingest-only deployment). The store is the
   * one the flow writer fills: a DuckDB file (one-process mode) or a ClickHouse database.
   */
  query: z
    .object({
      store: z.discriminatedUnion('engine', [
        z.object({
          engine: z.literal('duckdb'),
          path: z.string().min(1),
          /** connections on the file; each runs one query at a time */
          connections: z.number().int().min(1).max(16).default(2),
        }),
        z.object({
          engine: z.literal('clickhouse'),
          url: z.string().url(),
          database: z.string().min(1),
          username: z.string().default('default'),
          /** file holding the password, so the config itself carries no secret */
          passwordFile: z.string().min(1).optional(),
        }),
      ]),
      /** every query stops after this long (504) */
      timeoutMs: z.number().int().min(1).max(600_000).default(15_000),
      /** request body limit of a POST query */
      maxBodyBytes: z.number().int().min(1024).default(64 * 1024),
      /** admission (per tenant and in all, 429 past the queue) and per-query engine limits: see query-limiter.ts */
      limits: QueryLimitsSchema.prefault({}),
    })
    .optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type ApiConfig = z.infer<typeof ApiConfigSchema>;

export function loadConfig(file: string): ApiConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`config ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = ApiConfigSchema.safeParse(json);
  if (!r.success) throw new Error(`config ${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
