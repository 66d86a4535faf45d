import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { KubeMetaState, newAttributionStats, type AttributionStats } from '@sightline/attribution';
import { checkKafkaAccess, ensureTopics, topicSpecs } from '@sightline/bus';
import { colIndex, decodeBatch, decodeBatchMeta, type BatchMeta, type FlowBatch } from '@sightline/flow';
import { openStore as openFlowStore, type FlowStore, type RetentionDays, type RetentionScheduler, type StoreConfigInput } from '@sightline/store';
import type { EnricherConfig } from './config.js';
import { startHttp } from '@sightline/service-kit';
import { createKafka } from '@sightline/service-kit';
import { errField, type Logger } from './log.js';
import { MetaConsumer } from './meta-consumer.js';
import { countAttribution, EnricherMetrics } from './metrics.js';
import { WritePipeline, type PendingMessage } from './write-pipeline.js';
import { startRetention, tableTtlDays } from './retention.js';
import { retentionPolicy } from '@sightline/store';

const END = colIndex('end');
const START = colIndex('start');
/** batch ids confirmed written by this process, to drop a redelivered batch before decoding its body */
const RECENT_IDS = 20_000;
const COMPACT_EVERY_MS = 5 * 60_000;

/** `log` also gets the ClickHouse client's own messages, as structured lines of this process. */
/**
 * `ttlDays`: the table TTL of ClickHouse tables created now on a server with TTL (19.6+); the
 * enricher passes the longest of its retention days (tableTtlDays), so the server never deletes
 * what the retention config keeps longer than the defaults.
 */
export function openStore(cfg: StoreConfigInput, log?: Logger, ttlDays?: RetentionDays): Promise<FlowStore> {
  // the writer migrates; everything else is the store's one entry point
  return openFlowStore(cfg, { migrate: true, log: log?.child({ component: 'clickhouse-client' }), retentionDays: ttlDays });
}

/**
 * flows topic + kube-meta topic → attribution → store. Flow batches are consumed in a consumer
 * group shared by every enricher process; each message is decoded and both ends attributed at the
 * flows' own time, in partition order, while the store is still writing the messages before it
 * (WritePipeline): the store gets several batches per write (it drops a batch id it already has),
 * and only after it confirmed them are the offsets after them committed. A process killed
 * anywhere in between leaves the offsets before every unconfirmed batch, the next owner of the
 * partition writes them again, and the store drops the repeats: nothing lost, nothing doubled.
 */
export class Enricher {
  readonly state: KubeMetaState;
  private readonly recent = new Set<string>();
  private flows: Consumer | undefined;
  private meta: MetaConsumer | undefined;
  private http: Awaited<ReturnType<typeof startHttp>> | undefined;
  /** applies the retention days on a schedule (null: disabled in the config) */
  private retention: RetentionScheduler | null = null;
  private compactTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private ready = false;
  /** the flows consumer stopped for good (non-retriable failure): unhealthy until restarted */
  private failed = false;
  private assigned: number[] = [];
  private flowsTopic = '';
  private readonly pipeline: WritePipeline;
  port = 0;

  private constructor(
    public cfg: EnricherConfig,
    private readonly log: Logger,
    readonly metrics: EnricherMetrics,
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    readonly store: FlowStore,
  ) {
    this.state = new KubeMetaState({
      retentionMs: cfg.enricher.historyHours * 3_600_000,
      labelAllowList: cfg.enricher.labelAllowList,
      scopes: cfg.enricher.clusters,
    });
    this.pipeline = new WritePipeline({
      write: (items) => store.writeBatches(items),
      commit: async (offsets) => {
        // a partition taken away by a rebalance is its new owner's to commit
        const mine = offsets.filter((o) => this.assigned.includes(o.partition));
        if (mine.length > 0) await this.flows!.commitOffsets(mine.map((o) => ({ topic: this.flowsTopic, ...o })));
      },
      onWritten: (items, results) => this.written(items, results),
      onError: (what, err, attempt) => {
        this.metrics.storeErrors.inc({ op: what });
        this.log.error({ err: errField(err), attempt }, what === 'write' ? 'store write failed, retrying' : 'offset commit failed (the next write commits past it)');
      },
      // set on every change, not only when a message is queued: after the last write it drops to 0
      onPending: (rows) => this.metrics.pendingRows.set(rows),
    }, { writeRows: cfg.enricher.writeRows, pendingRows: cfg.enricher.pendingRows, lanes: cfg.enricher.writers });
  }

  static async start(cfg: EnricherConfig, log: Logger, metrics = new EnricherMetrics()): Promise<Enricher> {
    // a broker refusing these credentials or certificates fails start-up now, naming broker and cause
    await checkKafkaAccess(cfg.kafka, { log });
    const kafka = createKafka(cfg.kafka, undefined, log);
    const admin = kafka.admin();
    await admin.connect();
    let store: FlowStore | undefined;
    try {
      const specs = topicSpecs({ prefix: cfg.kafka.topicPrefix, flows: { partitions: cfg.kafka.flowsPartitions }, kubeMeta: { partitions: cfg.kafka.kubeMetaPartitions } });
      const report = await retrying(() => ensureTopics(admin, [specs.flows, specs.kubeMeta], { onMismatch: 'report' }), log, 'ensureTopics');
      for (const m of report.mismatches) log.warn(m, 'kafka topic differs from its spec (left as it is)');
      store = await openStore(cfg.store, log, tableTtlDays(cfg.retention));
      const e = new Enricher(cfg, log, metrics, kafka, admin, store);
      await e.run(specs.flows.name, specs.kubeMeta.name);
      e.retention = startRetention(store, cfg.retention, metrics.registry, log);
      return e;
    } catch (err) {
      await store?.close().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      throw err;
    }
  }

  private async run(flowsTopic: string, metaTopic: string): Promise<void> {
    this.flowsTopic = flowsTopic;
    const detail = () => ({ ready: this.ready, stopping: this.stopping, failed: this.failed, partitions: this.assigned, store: this.cfg.store.engine });
    // alive while starting (kube-meta catch-up may take minutes: a liveness probe must not restart
    // it for that); ready once it consumes flows
    this.http = await startHttp(this.cfg.http.host, this.cfg.http.port, this.metrics, () => ({ ok: !this.stopping && !this.failed, detail: detail() }), {
      ready: () => ({ ok: this.ready && !this.stopping && !this.failed, detail: detail() }),
    });
    this.port = this.http.port;

    this.meta = new MetaConsumer(this.kafka, this.admin, metaTopic, this.state, this.log, this.metrics);
    await this.meta.start();
    const t0 = Date.now();
    const caughtUp = await this.meta.waitCaughtUp(this.cfg.enricher.metaStartupTimeoutMs);
    this.log.info({ topic: metaTopic, caughtUp, ms: Date.now() - t0, records: this.state.stats }, caughtUp ? 'kube-meta read to its end' : 'kube-meta not read to its end in time: flows start with partial metadata');

    const flows = this.kafka.consumer({
      groupId: this.cfg.kafka.group,
      sessionTimeout: this.cfg.kafka.sessionTimeoutMs,
      allowAutoTopicCreation: false,
      // a flow batch message may be up to the topic's max.message.bytes (8 MiB)
      maxBytesPerPartition: 16 * 1_048_576,
    });
    this.flows = flows;
    flows.on(flows.events.GROUP_JOIN, (e) => {
      this.assigned = (e.payload.memberAssignment[flowsTopic] ?? []).slice().sort((a, b) => a - b);
      this.log.info({ partitions: this.assigned }, 'flows partitions assigned');
    });
    flows.on(flows.events.CRASH, (e) => {
      // kafkajs restarts the consumer after a retriable failure (store or broker down for a while):
      // the uncommitted messages are consumed again and the store drops what it already has
      this.log.error({ err: errField(e.payload.error), restart: e.payload.restart }, 'flows consumer crashed');
      if (!e.payload.restart) this.failed = true;
    });
    await flows.connect();
    // a new group starts at the beginning: flows published before the first enricher are not skipped
    await flows.subscribe({ topic: flowsTopic, fromBeginning: true });
    await flows.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (p) => this.onBatch(p),
    });
    this.compactTimer = setInterval(() => this.state.compact(Date.now()), COMPACT_EVERY_MS);
    this.compactTimer.unref();
    this.ready = true;
    this.log.info({ port: this.port, group: this.cfg.kafka.group, topic: flowsTopic, store: this.cfg.store.engine }, 'enricher started');
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const high = BigInt(batch.highWatermark);
    for (const m of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) return;
      const item = await this.prepare(batch.topic, batch.partition, m);
      await this.pipeline.push({ partition: batch.partition, offset: m.offset, item }, heartbeat);
      // resolved is where the next fetch starts; the commit waits for the store (WritePipeline)
      resolveOffset(m.offset);
      this.metrics.flowsLag.set({ partition: String(batch.partition) }, Number(high - BigInt(m.offset) - 1n));
      await heartbeat();
    }
  }

  /** Decodes and attributes one message; nothing to write for a repeat seen by its header or a message that cannot be decoded. */
  private async prepare(topic: string, partition: number, m: KafkaMessage): Promise<PendingMessage['item']> {
    const where = `${topic}[${partition}]@${m.offset}`;
    if (m.value === null || m.value.length === 0) {
      this.metrics.badMessages.inc();
      this.log.warn({ topic, partition, offset: m.offset }, 'flows message without a value skipped');
      return undefined;
    }
    let meta: BatchMeta;
    let batch: FlowBatch;
    try {
      meta = decodeBatchMeta(m.value, where);
      this.metrics.consumedBatches.inc({ tenant: meta.tenant });
      this.metrics.consumedFlows.inc({ tenant: meta.tenant }, meta.records);
      if (this.recent.has(meta.id)) {
        this.metrics.duplicates.inc({ tenant: meta.tenant, where: 'header' });
        return undefined;
      }
      batch = decodeBatch(m.value, where).batch;
    } catch (err) {
      // Decoding is pure (no I/O), so any error here is the message's own. A message no reader can decode would block its partition forever: it is logged (where and
      // why) and passed; the collector's dead-letter topic keeps the source lines it came from.
      this.metrics.badMessages.inc();
      this.log.error({ topic, partition, offset: m.offset, err: errField(err) }, 'flows message skipped: cannot decode');
      return undefined;
    }

    await this.waitForMetadata(meta.tenant, batch);
    const stats = attributeStage(this.state, meta, batch);
    countAttribution(this.metrics, meta.tenant, stats);
    return { meta, batch };
  }

  /** The store confirmed these batches (written now, or had them already). */
  private written(items: { meta: BatchMeta; batch: FlowBatch }[], results: { written: boolean }[]): void {
    items.forEach(({ meta, batch }, i) => {
      const t = { tenant: meta.tenant };
      const written = results[i]?.written === true;
      if (written) {
        this.metrics.writtenBatches.inc(t);
        this.metrics.writtenFlows.inc(t, batch.length);
      } else {
        this.metrics.duplicates.inc({ ...t, where: 'store' });
      }
      this.remember(meta.id);
    });
    this.metrics.storeWrites.inc();
    this.log.debug({ batches: items.length, records: items.reduce((a, it) => a + it.batch.length, 0) }, 'batches stored');
  }

  /**
   * Flows newer than the tenant's metadata may be ahead of a delta still in the kube-meta topic:
   * wait (bounded by metaWaitMs) until the kube-meta consumer has applied what the topic holds.
   * Once it has, waiting longer cannot help (the agent has not sent more), so the batch goes on.
   */
  private async waitForMetadata(tenant: string, batch: FlowBatch): Promise<void> {
    const newest = newestTime(batch);
    if (!(newest > this.state.watermarkMs(tenant))) return;
    const ok = await this.meta!.waitCaughtUp(this.cfg.enricher.metaWaitMs);
    this.metrics.metaWaits.inc({ outcome: ok ? 'caught-up' : 'timeout' });
    if (!ok) this.log.warn({ tenant, waitedMs: this.cfg.enricher.metaWaitMs }, 'kube-meta consumer behind: batch attributed with the metadata known now');
  }

  private remember(id: string): void {
    this.recent.add(id);
    if (this.recent.size > RECENT_IDS) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /**
   * A configuration reload, without a restart: the clusters' declared scopes (new clusters and
   * tenants included) and the retention days take effect now. Kafka, the store and the pipeline
   * sizes are read at start only: a change of them is reported as needing a restart.
   */
  reload(next: EnricherConfig): { applied: string[]; needRestart: string[] } {
    const applied: string[] = [];
    const needRestart: string[] = [];
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(next.enricher.clusters, this.cfg.enricher.clusters)) {
      this.state.setDeclaredScopes(next.enricher.clusters);
      applied.push('enricher.clusters');
    }
    if (!same(next.retention, this.cfg.retention)) {
      if (this.retention && next.retention.enabled) {
        this.retention.setPolicy(retentionPolicy({ days: next.retention.days, tenants: next.retention.tenants }));
        applied.push('retention');
      } else needRestart.push('retention.enabled');
    }
    for (const k of ['kafka', 'store', 'http'] as const) if (!same(next[k], this.cfg[k])) needRestart.push(k);
    const { clusters: _a, ...restNext } = next.enricher;
    const { clusters: _b, ...restNow } = this.cfg.enricher;
    if (!same(restNext, restNow)) needRestart.push('enricher');
    this.cfg = { ...this.cfg, enricher: { ...this.cfg.enricher, clusters: next.enricher.clusters }, retention: applied.includes('retention') ? next.retention : this.cfg.retention };
    return { applied, needRestart };
  }

  /** Graceful drain: the messages already attributed are stored and committed, the rest stays for the next owner. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.compactTimer) clearInterval(this.compactTimer);
    // No run starts from now on; one in progress (a ClickHouse delete mutation is waited for up to
    // 60 s per table) goes on beside the shutdown and is awaited only before the store closes: the
    // pipeline's last writes and commits must not wait behind it (a pod's grace period is 30 s).
    const retentionStopped = this.retention?.stop();
    // before leaving the group: a commit needs a member (a write that fails now is left to the next owner)
    await this.pipeline.close();
    try {
      await this.flows?.disconnect();
    } catch (err) {
      this.log.warn({ err: errField(err) }, 'flows consumer disconnect failed');
    }
    await this.meta?.stop().catch((err: unknown) => this.log.warn({ err: errField(err) }, 'kube-meta consumer disconnect failed'));
    await this.admin.disconnect().catch(() => undefined);
    await retentionStopped;
    await this.store.close();
    await this.http?.close();
    this.log.info('enricher stopped');
  }
}

/**
 * The attribute stage, whatever feeds it: both ends of every row from the tenant's metadata, at the
 * flows' own time. The batch's account is its object's (the collector's batch meta): it scopes
 * records whose own account-id is `unknown`.
 */
export function attributeStage(state: KubeMetaState, meta: Pick<BatchMeta, 'tenant' | 'account'>, batch: FlowBatch): AttributionStats {
  const stats = newAttributionStats();
  const a = state.attributor(meta.tenant);
  if (a) a.attributeBatch(batch, stats, { account: meta.account });
  else {
    // no metadata for this tenant: every end stays null, and is counted as such
    stats.unattributedSrc = batch.length;
    stats.unattributedDst = batch.length;
  }
  return stats;
}

function newestTime(batch: FlowBatch): number {
  const col = (batch.columns[END] ?? batch.columns[START]) as Float64Array | undefined;
  if (!col) return -Infinity;
  let max = -Infinity;
  for (let i = 0; i < batch.length; i++) if (col[i]! > max) max = col[i]!;
  return max;
}

/**
 * Retries a start-up admin call on kafkajs's retriable errors: a topic created a moment ago (by
 * this or another process) can be missing from a broker's metadata for a short while.
 */
export async function retrying<T>(fn: () => Promise<T>, log: Logger, what: string, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || (err as { retriable?: unknown }).retriable !== true) throw err;
      log.warn({ err: errField(err), attempt: i }, `${what} failed, retrying`);
      await new Promise((r) => setTimeout(r, 250 * 2 ** i));
    }
  }
}
