import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Producer } from 'kafkajs';
import { checkKafkaAccess, collectorTopicSpecs, ensureTopics, topicSpecs } from '@sightline/bus';
import type { ObjectRef } from '@sightline/object-store';
import { CheckpointStore } from './checkpoints.js';
import { Startup, settlesWithin } from './startup.js';
import { loadConfig, sourceId, type CollectorConfig, type SourceConfig } from './config.js';
import { startHttp, watchConfigFile } from '@sightline/service-kit';
import { createKafka, createProducer } from '@sightline/service-kit';
import { createLogger, errField, type Logger } from './log.js';
import { CollectorMetrics } from './metrics.js';
import { Semaphore } from './ordered-commit.js';
import { Ownership } from './ownership.js';
import { SourceRunner } from './source-runner.js';
import { defaultSourceFactory, type SourceFactory } from './sources.js';
import type { UnitResult } from './unit.js';

/**
 * The collector process: configuration (reloaded when the file changes), Kafka producer and topics,
 * durable checkpoints, ownership of sources through the collectors' consumer group, one runner per
 * owned source sharing a bounded worker pool, and the HTTP endpoints.
 *
 * Memory bound per process: workers × (one object's stream buffers + one parsed batch of batchRows
 * rows + inflightBatches encoded batches waiting for Kafka); see README.md for the measured figure.
 */

export interface CollectorOptions {
  configFile: string;
  /** process what is there now and stop (backfill); no consumer group: this process takes every source */
  once?: boolean;
  log?: Logger;
  sourceFactory?: SourceFactory;
  /** watch the configuration file and apply changes (default: on unless once) */
  watchConfig?: boolean;
  onUnit?: (ref: ObjectRef, r: UnitResult) => void;
  onListed?: (ref: ObjectRef) => void;
}

export class Collector {
  readonly metrics = new CollectorMetrics();
  private readonly runners = new Map<string, { runner: SourceRunner; config: string }>();
  private ownership: Ownership | undefined;
  private http: Awaited<ReturnType<typeof startHttp>> | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private stopping = false;
  /** start-up finished: /readyz answers 200 from then until stop */
  private started = false;
  /** stops the configuration file watch */
  private unwatch: (() => void) | undefined;
  private onceDone: Promise<void> | undefined;

  private constructor(
    readonly instanceId: string,
    private config: CollectorConfig,
    private readonly opts: CollectorOptions,
    readonly log: Logger,
    readonly producer: Producer,
    readonly checkpoints: CheckpointStore,
    private readonly pool: Semaphore,
    readonly topics: { flows: string; deadLetter: string; checkpoints: string; work: string },
  ) {}

  /**
   * Starts the collector step by step (see startup.ts): every step is logged, the Kafka steps are
   * retried with fresh clients when they fail or overrun (they are idempotent: topics that exist
   * are left alone, a producer that never connected has sent nothing, reading checkpoints writes
   * nothing), and the whole start-up fails with the name of the step it was stuck at once
   * `startup.timeoutMs` has passed, after closing what it had opened.
   */
  static async start(opts: CollectorOptions): Promise<Collector> {
    const log = opts.log ?? createLogger();
    const config = await loadConfig(opts.configFile);
    const startup = new Startup(log, config.startup.timeoutMs);
    const retry = { retry: true, attemptMs: config.startup.attemptMs };
    const kafka = createKafka(config.kafka, undefined, log);
    const data = topicSpecs({ prefix: config.kafka.topicPrefix, flows: { partitions: config.kafka.flowsPartitions } });
    const own = collectorTopicSpecs({ prefix: config.kafka.topicPrefix, workPartitions: config.kafka.workPartitions });
    const topics = { flows: data.flows.name, deadLetter: data.deadLetter.name, checkpoints: own.checkpoints.name, work: own.work.name };
    const instanceId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    log.info({ instance: instanceId, brokers: config.kafka.brokers, timeoutMs: config.startup.timeoutMs }, 'collector starting');

    // Not retried: a broker that refuses these credentials or certificates refuses them again, and
    // kafkajs would retry a certificate that does not verify as long as a broker that is down.
    await startup.step('check kafka access', () => checkKafkaAccess(config.kafka, { log }));
    await startup.step('ensure topics', async ({ signal }) => {
      const admin: Admin = kafka.admin();
      signal.addEventListener('abort', () => void admin.disconnect().catch(() => undefined), { once: true });
      await admin.connect();
      const report = await ensureTopics(admin, [data.flows, data.deadLetter, own.checkpoints, own.work], { onMismatch: 'report' });
      if (report.created.length > 0) log.info({ topics: report.created }, 'created topics');
      for (const m of report.mismatches) log.warn(m, `topic ${m.topic} differs from its spec (${m.what}): left as it is`);
      if (!(await settlesWithin(admin.disconnect(), 10_000))) log.warn('start-up: admin disconnect took more than 10000 ms; left behind');
    }, retry);

    const producer = await startup.step('connect producer', async ({ signal }) => {
      const p = createProducer(kafka);
      signal.addEventListener('abort', () => void p.disconnect().catch(() => undefined), { once: true });
      await p.connect();
      return p;
    }, retry);

    const checkpoints = new CheckpointStore(kafka, producer, topics.checkpoints, instanceId);
    const c = new Collector(instanceId, config, opts, log, producer, checkpoints, new Semaphore(config.collector.workers), topics);
    try {
      const n = await startup.step('load checkpoints', ({ signal }) => c.checkpoints.load({ timeoutMs: config.startup.attemptMs, signal, log }), retry);
      log.info({ sources: n, topic: topics.checkpoints }, 'checkpoints loaded');
      c.http = await startup.step('open http', () => startHttp(config.http.host, config.http.port, c.metrics, () => c.health(), { ready: () => c.readiness() }));
      log.info({ instance: c.instanceId, port: c.http.port, sources: config.sources.length, once: opts.once === true, topics }, 'collector started');
      if (opts.once) {
        c.onceDone = c.reconcile().then(() => Promise.all([...c.runners.values()].map((r) => r.runner.start()))).then(() => undefined);
      } else {
        c.ownership = new Ownership(kafka, topics.work, config.kafka.workPartitions, config.kafka.group, config.kafka.sessionTimeoutMs, log, () => { void c.reconcile(); });
        await startup.step('announce sources', () => c.ownership!.announce(producer, c.describeSources()), retry);
        // Not retried: a second member joining while the first is still in the group would rebalance it for nothing.
        await startup.step('join the work group', () => c.ownership!.start());
        if (opts.watchConfig !== false) c.watch();
      }
      c.started = true;
    } catch (err) {
      c.stopping = true;
      // Whatever start-up opened is closed, each close bounded: the error must reach the caller.
      await settlesWithin(c.ownership?.stop() ?? Promise.resolve(), 10_000);
      await settlesWithin(producer.disconnect(), 10_000);
      await c.http?.close().catch(() => undefined);
      throw err;
    }
    return c;
  }

  get port(): number {
    return this.http?.port ?? 0;
  }

  /** --once: resolves when every source was processed to its end. */
  get done(): Promise<void> {
    return this.onceDone ?? Promise.resolve();
  }

  /** Units that could not be processed (a --once run then exits non-zero). */
  get failures(): number {
    let n = 0;
    for (const r of this.runners.values()) n += r.runner.failures;
    return n;
  }

  ownedSources(): string[] {
    return [...this.runners.keys()];
  }

  private describeSources() {
    return this.config.sources.map((s) => ({ id: sourceId(s), tenant: s.tenant, cloud: s.cloud, account: s.cloud === 'aws' ? s.accountId : s.cloud === 'gcp' ? s.projectId : s.subscriptionId }));
  }

  private health() {
    return { ok: !this.stopping, detail: { instance: this.instanceId, sources: this.ownedSources(), once: this.opts.once === true } };
  }

  /** ready once start-up is through (checkpoints loaded, sources announced, in the work group) */
  private readiness() {
    return { ok: this.started && !this.stopping, detail: { started: this.started, stopping: this.stopping, instance: this.instanceId } };
  }

  /** Starts and stops runners so they match the configuration and the current ownership; serialized. */
  reconcile(): Promise<void> {
    this.reconciling = this.reconciling.then(() => this.reconcileNow()).catch((err: unknown) => {
      this.log.error({ err: errField(err) }, 'applying ownership or configuration failed');
    });
    return this.reconciling;
  }

  private async reconcileNow(): Promise<void> {
    if (this.stopping) return;
    const wanted = new Map<string, SourceConfig>();
    for (const s of this.config.sources) {
      const id = sourceId(s);
      if (this.opts.once || this.ownership?.owns(id)) wanted.set(id, s);
    }
    const stops: Promise<void>[] = [];
    for (const [id, r] of this.runners) {
      const w = wanted.get(id);
      if (w === undefined || JSON.stringify(w) !== r.config) {
        this.log.info({ source: id }, w === undefined ? 'source released' : 'source configuration changed: restarting it');
        this.runners.delete(id);
        stops.push(r.runner.stop());
      }
    }
    await Promise.all(stops);
    const fresh = [...wanted].filter(([id]) => !this.runners.has(id));
    // A source taken over from another process resumes from the cursor that process committed last.
    if (fresh.length > 0 && !this.opts.once) await this.checkpoints.load({ log: this.log });
    for (const [id, s] of fresh) {
      let runner: SourceRunner;
      try {
        runner = new SourceRunner((this.opts.sourceFactory ?? defaultSourceFactory)(s), {
          log: this.log, metrics: this.metrics, checkpoints: this.checkpoints, pool: this.pool,
          unit: {
            producer: this.producer, flowsTopic: this.topics.flows, deadLetterTopic: this.topics.deadLetter,
            batchRows: this.config.collector.batchRows, inflightBatches: this.config.collector.inflightBatches, keyGroups: this.config.collector.keyGroups,
          },
          once: this.opts.once === true,
          pollIntervalMs: this.config.collector.pollIntervalMs,
          visibilitySeconds: this.config.collector.visibilitySeconds,
          queueDepth: this.config.collector.queueDepth,
          ...(this.opts.onUnit ? { onUnit: this.opts.onUnit } : {}),
          ...(this.opts.onListed ? { onListed: this.opts.onListed } : {}),
        });
      } catch (err) {
        this.metrics.errors.inc({ tenant: s.tenant, cloud: s.cloud, account: 'config', kind: 'source' });
        this.log.error({ source: id, err: errField(err) }, `cannot start source ${id}`);
        continue;
      }
      this.runners.set(id, { runner, config: JSON.stringify(s) });
      this.log.info({ source: id }, 'source owned');
      if (!this.opts.once) {
        runner.start().catch((err: unknown) => this.log.error({ source: id, err: errField(err) }, `source ${id} stopped on an error`));
      }
    }
    this.metrics.ownedSources.set(this.runners.size);
  }

  private watch(): void {
    // service-kit's watcher: stat polling (editors and ConfigMap updates replace the file), one reload at a time
    this.unwatch = watchConfigFile(this.opts.configFile, () => loadConfig(this.opts.configFile), (next) => {
      const old = this.config;
      this.config = next;
      if (JSON.stringify(next.kafka) !== JSON.stringify(old.kafka) || JSON.stringify(next.http) !== JSON.stringify(old.http)) {
        this.log.warn('kafka and http settings take effect at the next restart; sources and collector settings apply now');
      }
      this.log.info({ sources: next.sources.length }, 'configuration reloaded');
      // announce and reconcile outside the reload: the new configuration is taken whether they succeed now or later
      void (async () => {
        await this.ownership?.announce(this.producer, this.describeSources());
        await this.reconcile();
      })().catch((err: unknown) => this.log.error({ err: errField(err) }, 'announcing the reloaded sources failed'));
    }, (r) => {
      this.metrics.configReloads.inc({ result: r.ok ? 'ok' : 'invalid' });
      if (!r.ok) this.log.error({ err: errField(r.error) }, 'configuration change rejected; keeping the previous one');
    });
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unwatch?.();
    // A consumer stopped while its group join is in flight may never settle (kafkajs #967, #1639).
    if (this.ownership && !(await settlesWithin(this.ownership.stop(), 15_000))) this.log.warn('the work consumer did not leave its group within 15000 ms; stopping anyway');
    await this.reconciling;
    await Promise.all([...this.runners.values()].map((r) => r.runner.stop()));
    this.runners.clear();
    if (!(await settlesWithin(this.producer.disconnect(), 15_000))) this.log.warn('the producer did not disconnect within 15000 ms; stopping anyway');
    await this.http?.close();
    this.log.info('collector stopped');
  }
}
