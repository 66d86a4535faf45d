import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { idempotentProducer, kafkaClient, type KafkaConfigInput } from '@sightline/bus';
import type { Logger } from './log.js';

const { Partitioners } = kafkajs;

/**
 * A kafkajs client logging through pino at warn and above: @sightline/bus' kafkaClient, which
 * owns the settings (timeouts, retries, TLS, SASL). Takes the service's `kafka` config, or a
 * plain broker list (tests against the local PLAINTEXT listener).
 */
export function createKafka(config: KafkaConfigInput | string[], clientId: string | undefined, log: Logger): Kafka {
  const cfg: KafkaConfigInput = Array.isArray(config) ? { brokers: config } : config;
  return kafkaClient(clientId === undefined ? cfg : { ...cfg, clientId }, { log });
}

/**
 * Idempotent producer with acks=all (set per send): a retried send after a broker restart or a
 * lost response is written once per partition, and an acknowledgement means every in-sync replica
 * has it. Retries are unbounded (kafkajs default for idempotence) so a broker outage stalls the
 * service instead of failing its work. One send at a time (@sightline/bus idempotentProducer):
 * kafkajs alone can acknowledge a batch it never wrote when sends overlap a lost answer.
 */
export function createProducer(kafka: Kafka): Producer {
  return idempotentProducer(kafka, {
    maxInFlightRequests: 5,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: Number.MAX_SAFE_INTEGER },
  });
}
