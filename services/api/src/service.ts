import type { ApiConfig } from './config.js';
import { KafkaPublisher } from './ingest-kafka.js';
import { createLogger, type Logger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { openQueryRunner, startServer, type QueryRunner, type RunningServer } from './server.js';
import { TokenIndex } from './tokens.js';

export interface ApiService {
  url: string;
  port: number;
  publisher: KafkaPublisher;
  metrics: ApiMetrics;
  stop(): Promise<void>;
}

/** Wires config, tokens, Kafka and the server; stop() drains requests, then disconnects Kafka. */
export async function startApi(config: ApiConfig, opts: { log?: Logger; metrics?: ApiMetrics } = {}): Promise<ApiService> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const metrics = opts.metrics ?? new ApiMetrics();
  const tokens = TokenIndex.fromFile(config.tokensFile);
  const publisher = new KafkaPublisher(config.kafka);
  await publisher.start();
  let draining = false;
  let server: RunningServer;
  // the query API is optional: an ingest-only deployment has no store and its query routes answer 503
  let runner: QueryRunner | null = null;
  try {
    runner = config.query ? await openQueryRunner(config.query, metrics.registry) : null;
    const query = config.query
      ? { tokens, runner, timeoutMs: config.query.timeoutMs, maxBodyBytes: config.query.maxBodyBytes, log }
      : undefined;
    server = await startServer(
      { tokens, publisher, metrics, log },
      { ...config.listen, tls: config.tls, ...config.ingest, ready: () => publisher.ready && !draining, query },
    );
  } catch (err) {
    await runner?.close();
    await publisher.stop();
    throw err;
  }
  log.info({ url: server.url, clusters: tokens.size, topic: publisher.topic }, 'api: listening');
  return {
    url: server.url,
    port: server.port,
    publisher,
    metrics,
    async stop() {
      draining = true;
      await server.close();
      await runner?.close();
      await publisher.stop();
      log.info('api: stopped');
    },
  };
}
