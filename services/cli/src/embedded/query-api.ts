import { randomBytes } from 'node:crypto';
import { ApiMetrics, createLogger, hashToken, openQueryRunner, QueryConfigSchema, startServer, TokenIndex, type PipelineHealthSource, type QueryLimits, type QueryRunner } from '@sightline/api';

/** Query slots of the one-process mode: a laptop's cores, shared by the pipeline's own user and a dashboard or two. */
const EMBEDDED_LIMITS: Partial<QueryLimits> = { concurrent: 2, perTenant: 2 };

export interface EmbeddedApi {
  url: string;
  port: number;
  /** the demo tenant's read token: shown to the user once, never logged */
  token: string;
  /** the runner behind the query routes (its limiter's events show admissions and cancellations) */
  runner: QueryRunner;
  close(): Promise<void>;
}

/**
 * Starts the query API on loopback with one read token for the tenant, made for this run only.
 * No cluster (ingest) token exists, so kubetags ingest answers 401: metadata comes from the dumps.
 * Queries run through the api's own runner, opened by the api's entry point from a `query` section
 * (the api's schema) naming the pipeline's DuckDB file (same database instance, opened with the
 * writer's `memoryLimit`), so the embedded mode has the api's admission limits and cancellation: a
 * query past its deadline or whose client left is interrupted, not left running.
 */
export async function startEmbeddedApi(
  db: { path: string; memoryLimit: string },
  tenant: string,
  listen: { host: '127.0.0.1'; port: number },
  opts: { timeoutMs?: number; health?: PipelineHealthSource } = {},
): Promise<EmbeddedApi> {
  const token = randomBytes(32).toString('base64url');
  const tokens = new TokenIndex({ clusters: [], readers: [{ tokenSha256: hashToken(token), tenant, name: 'embedded-demo' }] });
  const log = createLogger({ level: process.env.SIGHTLINE_LOG_LEVEL ?? 'warn' });
  const query = QueryConfigSchema.parse({
    store: { engine: 'duckdb', path: db.path, memoryLimit: db.memoryLimit, connections: EMBEDDED_LIMITS.concurrent },
    limits: EMBEDDED_LIMITS,
    timeoutMs: opts.timeoutMs ?? 15_000,
    maxBodyBytes: 64 * 1024,
  });
  const runner = await openQueryRunner(query);
  const server = await startServer(
    {
      tokens,
      publisher: {
        publish: () => Promise.reject(new Error('kubetags ingest is not part of the embedded mode')),
      },
      metrics: new ApiMetrics(false),
      log,
    },
    {
      host: listen.host,
      port: listen.port,
      maxBodyBytes: 1024 * 1024,
      maxInflatedBytes: 8 * 1024 * 1024,
      ready: () => true,
      query: { tokens, runner, timeoutMs: query.timeoutMs, log, maxBodyBytes: query.maxBodyBytes },
      health: opts.health,
    },
  );
  return {
    url: server.url,
    port: server.port,
    token,
    runner,
    close: async () => {
      await server.close();
      await runner.close();
    },
  };
}
