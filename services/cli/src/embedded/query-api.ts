import { randomBytes } from 'node:crypto';
import { ApiMetrics, createLogger, hashToken, QueryTimeout, startServer, TokenIndex, type QueryRunner } from '@sightline/api';
import type { FlowStore } from '@sightline/store';

/**
 * The query API's runner over the store the pipeline wrote (the api's DuckDBRunner opens a pool of
 * its own on the file; one process needs only this one connection, whose store already runs one
 * statement at a time). At the deadline the request gets its 504; the statement itself finishes on
 * its own (the samples' queries take milliseconds).
 */
function storeRunner(store: FlowStore): QueryRunner {
  const within = <T>(work: Promise<T>, deadline: number, limitMs: number): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueryTimeout(limitMs)), Math.max(0, deadline - Date.now()));
    });
    return Promise.race([work, expired]).finally(() => clearTimeout(timer));
  };
  return {
    engine: store.engine,
    timeSeries: (tenant, q, deadline, limitMs) => within(store.timeSeries(tenant, q), deadline, limitMs),
    topN: (tenant, q, deadline, limitMs) => within(store.topN(tenant, q), deadline, limitMs),
    close: async () => {},
  };
}

export interface EmbeddedApi {
  url: string;
  port: number;
  /** the demo tenant's read token: shown to the user once, never logged */
  token: string;
  close(): Promise<void>;
}

/**
 * Starts the query API on loopback with one read token for the tenant, made for this run only.
 * No cluster (ingest) token exists, so kubetags ingest answers 401: metadata comes from the dumps.
 */
export async function startEmbeddedApi(store: FlowStore, tenant: string, listen: { host: '127.0.0.1'; port: number }): Promise<EmbeddedApi> {
  const token = randomBytes(32).toString('base64url');
  const tokens = new TokenIndex({ clusters: [], readers: [{ tokenSha256: hashToken(token), tenant, name: 'embedded-demo' }] });
  const log = createLogger({ level: process.env.SIGHTLINE_LOG_LEVEL ?? 'warn' });
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
      query: { tokens, runner: storeRunner(store), timeoutMs: 15_000, log, maxBodyBytes: 64 * 1024 },
    },
  );
  return { url: server.url, port: server.port, token, close: () => server.close() };
}
