import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import type { Logger } from './log.js';

const { Kafka: KafkaClient, logLevel, Partitioners } = kafkajs;

/**
 * One kafkajs client per process. kafkajs logs go through pino at warn and above: its own lines
 * name brokers and topics, never credentials (the local broker has none; SASL settings would be
 * redacted by the logger's paths).
 */
export function createKafka(brokers: string[], clientId: string, log: Logger): Kafka {
  return new KafkaClient({
    clientId,
    brokers,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    // A broker restart takes seconds to tens of seconds: retry long enough to ride it out.
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 30 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, ...rest } = entry;
      const fields = { kafka: namespace, broker: rest.broker, topic: rest.topic, error: rest.error };
      if (level <= logLevel.ERROR) log.error(fields, `kafka: ${message}`);
      else log.warn(fields, `kafka: ${message}`);
    },
  });
}

/**
 * Idempotent producer with acks=all (set per send): a retried send after a broker restart or a
 * lost response is written once per partition, and an acknowledgement means every in-sync replica
 * has it. Retries are unbounded (kafkajs default for idempotence) so a broker outage stalls the
 * service instead of failing its work.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: Number.MAX_SAFE_INTEGER },
  });
}
