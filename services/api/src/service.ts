import type { ApiConfig } from './config.js';
import { KafkaPublisher } from './ingest-kafka.js';
import { createLogger, type Logger } from './log.js';
import { ApiMetrics, startMetricsServer, type MetricsServer } from './metrics.js';
import { openQueryRunner, startServer, type QueryRunner, type RunningServer } from './server.js';
import { StoreProbe } from './store-ready.js';
import { KafkaDeadLetterReader } from './query-deadletters.js';
import { ScrapedPipelineHealth } from './pipeline-health.js';
import { TokenIndex } from './tokens.js';

/** The tokens of a configuration: inline (the one backend file) or from the tokens file. */
function tokenIndexOf(config: ApiConfig): TokenIndex {
  if (config.tokens) return new TokenIndex(config.tokens);
  if (config.tokensFile) return TokenIndex.fromFile(config.tokensFile);
  throw new Error('the api configuration has neither tokens nor tokensFile');
}

export interface ApiService {
  url: string;
  port: number;
  /** where `/metrics` is served (its own listener, config `metrics`) */
  metricsUrl: string;
  publisher: KafkaPublisher;
  metrics: ApiMetrics;
  /**
   * A configuration reload without a restart: the tokens (new clusters, tenants and read tokens,
   * and the ones removed) take effect for the next request. Listeners, Kafka and the store are read
   * at start: a change of them is reported as needing a restart.
   */
  reload(next: ApiConfig): { applied: string[]; needRestart: string[] };
  stop(): Promise<void>;
}

/** Wires config, tokens, Kafka and the server; stop() drains requests, then disconnects Kafka. */
export async function startApi(config: ApiConfig, opts: { log?: Logger; metrics?: ApiMetrics } = {}): Promise<ApiService> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const metrics = opts.metrics ?? new ApiMetrics();
  const tokens = tokenIndexOf(config);
  let current = config;
  const publisher = new KafkaPublisher(config.kafka);
  await publisher.start();
  let draining = false;
  let server: RunningServer;
  let metricsServer: MetricsServer | undefined;
  const probe = config.query ? new StoreProbe(config.query.store, log, { memoryLimit: config.query.limits.duckdb.memoryLimit }) : null;
  // not ready while Kafka is not connected, the store has no schema yet or the process is draining
  const ready = async () => {
    const reasons: string[] = [];
    if (draining) reasons.push('draining');
    if (!publisher.ready) reasons.push('kafka: not connected');
    const store = probe ? await probe.check() : null;
    if (store && !store.ok) reasons.push(`store: ${store.reason}`);
    return { ok: reasons.length === 0, reasons };
  };
  // the query API is optional: an ingest-only deployment has no store and its query routes answer 503
  let runner: QueryRunner | null = null;
  // the tenant's dead letters (GET /v1/deadletters) come with the query API, read from the collector's topic
  const deadLetters = config.query
    ? new KafkaDeadLetterReader({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, topicPrefix: config.kafka.topicPrefix }, log)
    : null;
  try {
    runner = config.query ? await openQueryRunner(config.query, metrics.registry) : null;
    const query = config.query
      ? { tokens, runner, timeoutMs: config.query.timeoutMs, maxBodyBytes: config.query.maxBodyBytes, log }
      : undefined;
    server = await startServer(
      { tokens, publisher, metrics, log },
      {
        host: config.listen.host,
        port: config.listen.port,
        tls: config.tls,
        maxBodyBytes: config.ingest.maxBodyBytes,
        maxInflatedBytes: config.ingest.maxInflatedBytes,
        http: config.listen,
        ingest: config.ingest,
        auth: config.auth,
        ready,
        queryReady: probe ? async () => { const s = await probe.check(); return { ok: s.ok, reasons: s.ok ? [] : [s.reason] }; } : undefined,
        query,
        deadLetters: deadLetters?.buffer,
        health: config.pipeline ? new ScrapedPipelineHealth(config.pipeline) : undefined,
      },
    );
    metricsServer = await startMetricsServer(config.metrics.host, config.metrics.port, metrics.registry).catch(async (err: unknown) => {
      await server.close();
      throw new Error(`metrics listener ${config.metrics.host}:${config.metrics.port}: ${err instanceof Error ? err.message : String(err)}`);
    });
  } catch (err) {
    await probe?.close();
    await deadLetters?.stop();
    await runner?.close();
    await publisher.stop();
    throw err;
  }
  const metricsAt = metricsServer;
  deadLetters?.startInBackground();
  log.info({ url: server.url, metrics: metricsAt.url, clusters: tokens.size, topic: publisher.topic }, 'api: listening');
  return {
    url: server.url,
    port: server.port,
    metricsUrl: metricsAt.url,
    publisher,
    metrics,
    reload(next) {
      const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
      const applied: string[] = [];
      // a tokens file is read again even when its name did not change: its content may have
      tokens.replace(tokenIndexOf(next));
      applied.push('tokens');
      const needRestart = (['listen', 'metrics', 'tls', 'kafka', 'query', 'ingest', 'auth'] as const).filter((k) => !same(next[k], current[k]));
      current = { ...current, tokens: next.tokens, tokensFile: next.tokensFile };
      log.info({ applied, needRestart, clusters: tokens.size, readers: tokens.readerCount }, 'api: configuration reloaded');
      return { applied, needRestart };
    },
    async stop() {
      draining = true;
      await server.close();
      await metricsAt.close();
      await probe?.close();
      await deadLetters?.stop();
      await runner?.close();
      await publisher.stop();
      log.info('api: stopped');
    },
  };
}
