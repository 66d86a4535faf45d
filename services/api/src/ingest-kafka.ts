import kafkajs, { type Admin, type Producer } from 'kafkajs';
import { checkKafkaAccess, ensureTopics, idempotentProducer, kafkaClient, topicSpecs, type KafkaConfigInput } from '@sightline/bus';
import { partitionFor, type KeyedRecord } from '@sightline/kube-model';
import type { ClusterIdentity } from './tokens.js';
import type { Publisher } from './ingest.js';

const { CompressionTypes } = kafkajs;

/** The api's `kafka` config: brokers, TLS and SASL as every service has them (@sightline/bus), and ensureTopics. */
export type KafkaPublisherOptions = KafkaConfigInput & { topicPrefix: string; ensureTopics: boolean };

/**
 * Writes kube-meta records, every record of a cluster to that cluster's partition. The producer is
 * idempotent with one send at a time (@sightline/bus idempotentProducer), so a retried send neither
 * duplicates, reorders nor drops: a snapshot marker is never read before the objects it completes.
 */
export class KafkaPublisher implements Publisher {
  readonly topic: string;
  private partitions = 0;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private connected = false;

  constructor(private readonly opts: KafkaPublisherOptions) {
    const kafka = kafkaClient(opts, { retry: { retries: 5 } });
    this.producer = idempotentProducer(kafka, { maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.admin = kafka.admin();
    this.topic = `${opts.topicPrefix}kube-meta`;
  }

  get ready(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    // a broker refusing these credentials or certificates fails start-up now, naming broker and cause
    await checkKafkaAccess(this.opts);
    await this.admin.connect();
    try {
      if (this.opts.ensureTopics) await ensureTopics(this.admin, [topicSpecs({ prefix: this.opts.topicPrefix }).kubeMeta], { onMismatch: 'report' });
      const { topics } = await this.admin.fetchTopicMetadata({ topics: [this.topic] });
      this.partitions = topics[0]?.partitions.length ?? 0;
      if (this.partitions === 0) throw new Error(`kafka topic ${this.topic} has no partitions (does it exist?)`);
    } finally {
      await this.admin.disconnect();
    }
    await this.producer.connect();
    this.connected = true;
  }

  async stop(): Promise<void> {
    this.connected = false;
    await this.producer.disconnect();
  }

  async publish(id: ClusterIdentity, records: readonly KeyedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const partition = partitionFor(id.tenant, id.cluster, this.partitions);
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: records.map((r) => ({ key: r.key, value: r.value === null ? null : JSON.stringify(r.value), partition })),
    });
  }
}
