import { z } from 'zod';

/**
 * The Kafka topics of the distributed data path (see docs/architecture.md):
 *   collector ──► flows ──► enricher ──► store;  api /ingest ──► kube-meta (compacted) ──► enricher;
 *   any stage ──► dead-letter (bad objects and lines, kept for replay).
 * Specs are data: ensureTopics() creates what is missing and reports what differs.
 */

const HOUR_MS = 3_600_000;

// Kafka's own rule for topic names (kafka.common.Topic): legal characters, at most 249.
export const TopicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'a Kafka topic name is 1-249 characters of [a-zA-Z0-9._-]');

/** One topic as Kafka should hold it. `configs` are topic-level overrides (string values, as Kafka takes them). */
export const TopicSpec = z.object({
  name: TopicName,
  partitions: z.number().int().min(1).max(10_000),
  replicationFactor: z.number().int().min(1).max(16),
  configs: z.record(z.string(), z.string()),
});
export type TopicSpec = z.infer<typeof TopicSpec>;

const hours = z.number().positive().max(24 * 365 * 10);

/** Deployment knobs. Defaults fit the single-node local broker; production raises replication to 3. */
export const BusTopicsConfig = z.object({
  /** Prefix of every topic name; tests use a unique one, tenants of a shared cluster may too. */
  prefix: z.string().regex(/^[a-zA-Z0-9._-]*$/).default('sightline.'),
  replicationFactor: z.number().int().min(1).max(16).default(1),
  /** min.insync.replicas: with acks=all, how many replicas must have a write before it is acknowledged. */
  minInsyncReplicas: z.number().int().min(1).max(16).default(1),
  flows: z.object({
    // Partitions bound the enricher's parallelism: one consumer per partition at most.
    partitions: z.number().int().min(1).default(6),
    retentionHours: hours.default(48),
    // Columnar batches are large messages; the producer must be allowed as much.
    maxMessageBytes: z.number().int().min(1_048_576).max(67_108_864).default(8_388_608),
  }).prefault({}),
  kubeMeta: z.object({
    partitions: z.number().int().min(1).default(3),
    // Enrichment looks metadata up at the flow's own time, from at least 24 h of history: compaction
    // must not squash the versions of an object younger than that, so a restarted enricher can rebuild it.
    historyHours: hours.default(24),
  }).prefault({}),
  deadLetter: z.object({
    partitions: z.number().int().min(1).default(1),
    retentionHours: hours.default(24 * 30),
    maxMessageBytes: z.number().int().min(1_048_576).max(67_108_864).default(8_388_608),
  }).prefault({}),
}).refine((c) => c.minInsyncReplicas <= c.replicationFactor, {
  message: 'minInsyncReplicas cannot exceed replicationFactor (every acks=all write would fail)',
  path: ['minInsyncReplicas'],
});
export type BusTopicsConfig = z.infer<typeof BusTopicsConfig>;

export const TopicKey = z.enum(['flows', 'kubeMeta', 'deadLetter']);
export type TopicKey = z.infer<typeof TopicKey>;

/** The project's topics for a configuration (`input` is validated; `{}` gives the defaults). */
export function topicSpecs(input: z.input<typeof BusTopicsConfig> = {}): Record<TopicKey, TopicSpec> {
  const c = BusTopicsConfig.parse(input);
  const common = { 'min.insync.replicas': String(c.minInsyncReplicas) };
  const ms = (h: number) => String(Math.round(h * HOUR_MS));
  const specs: Record<TopicKey, TopicSpec> = {
    flows: {
      name: `${c.prefix}flows`,
      partitions: c.flows.partitions,
      replicationFactor: c.replicationFactor,
      configs: {
        ...common,
        'cleanup.policy': 'delete',
        'retention.ms': ms(c.flows.retentionHours),
        // The producer compresses (lz4/zstd/gzip, its choice); the broker keeps the batch as sent.
        'compression.type': 'producer',
        'max.message.bytes': String(c.flows.maxMessageBytes),
      },
    },
    kubeMeta: {
      name: `${c.prefix}kube-meta`,
      partitions: c.kubeMeta.partitions,
      replicationFactor: c.replicationFactor,
      configs: {
        ...common,
        'cleanup.policy': 'compact',
        'min.compaction.lag.ms': ms(c.kubeMeta.historyHours),
        // Tombstones (deleted objects) must outlive the history window too, or a rebuilt index
        // would resurrect a deleted pod's lease.
        'delete.retention.ms': ms(c.kubeMeta.historyHours),
        // Compaction only touches closed segments: roll hourly so it can run.
        'segment.ms': String(HOUR_MS),
        'compression.type': 'producer',
      },
    },
    deadLetter: {
      name: `${c.prefix}dead-letter`,
      partitions: c.deadLetter.partitions,
      replicationFactor: c.replicationFactor,
      configs: {
        ...common,
        'cleanup.policy': 'delete',
        'retention.ms': ms(c.deadLetter.retentionHours),
        'compression.type': 'producer',
        'max.message.bytes': String(c.deadLetter.maxMessageBytes),
      },
    },
  };
  for (const [key, spec] of Object.entries(specs)) {
    const r = TopicSpec.safeParse(spec);
    if (!r.success) throw new Error(`bus: topic ${key} (${spec.name}) is invalid: ${z.prettifyError(r.error)}`);
  }
  return specs;
}

/** Knobs of the collector's own topics (see collectorTopicSpecs). */
export const CollectorTopicsConfig = z.object({
  prefix: z.string().regex(/^[a-zA-Z0-9._-]*$/).default('sightline.'),
  replicationFactor: z.number().int().min(1).max(16).default(1),
  minInsyncReplicas: z.number().int().min(1).max(16).default(1),
  /**
   * Partitions of the work topic bound how many collector processes share the sources: each
   * source is owned by the process its partition is assigned to in the consumer group.
   */
  workPartitions: z.number().int().min(1).max(1000).default(12),
}).refine((c) => c.minInsyncReplicas <= c.replicationFactor, {
  message: 'minInsyncReplicas cannot exceed replicationFactor (every acks=all write would fail)',
  path: ['minInsyncReplicas'],
});

export const CollectorTopicKey = z.enum(['checkpoints', 'work']);
export type CollectorTopicKey = z.infer<typeof CollectorTopicKey>;

/**
 * The collector's topics, kept apart from topicSpecs() so the data-path topics stay as they are:
 *   checkpoints: compacted, one record per source (its discovery cursor), written only after the
 *     flows it covers were acknowledged; the latest value per key is all a restarted collector needs.
 *   work: compacted, one record per source; its partitions are what the collectors' consumer group
 *     hands out, so ownership of sources moves with a rebalance when a process dies.
 */
export function collectorTopicSpecs(input: z.input<typeof CollectorTopicsConfig> = {}): Record<CollectorTopicKey, TopicSpec> {
  const c = CollectorTopicsConfig.parse(input);
  const common = { 'min.insync.replicas': String(c.minInsyncReplicas), 'cleanup.policy': 'compact' };
  const specs: Record<CollectorTopicKey, TopicSpec> = {
    checkpoints: {
      name: `${c.prefix}collector-checkpoints`,
      partitions: 1,
      replicationFactor: c.replicationFactor,
      // Small segments so compaction keeps the topic (and a restart's read of it) short.
      configs: { ...common, 'segment.ms': String(HOUR_MS) },
    },
    work: {
      name: `${c.prefix}collector-work`,
      partitions: c.workPartitions,
      replicationFactor: c.replicationFactor,
      configs: { ...common },
    },
  };
  for (const [key, spec] of Object.entries(specs)) {
    const r = TopicSpec.safeParse(spec);
    if (!r.success) throw new Error(`bus: collector topic ${key} (${spec.name}) is invalid: ${z.prettifyError(r.error)}`);
  }
  return specs;
}
