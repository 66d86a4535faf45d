export { BusTopicsConfig, CollectorTopicKey, CollectorTopicsConfig, TopicKey, TopicName, TopicSpec, collectorTopicSpecs, topicSpecs } from './topics.js';
export { EnsureTopicsOptions, TopicMismatchError, ensureTopics, topicOffsets, waitForTopics } from './ensure-topics.js';
export type { EnsureTopicsReport, TopicMismatch } from './ensure-topics.js';
export { KafkaBrokers, KafkaConfigError, KafkaConfigSchema, KafkaConfigShape, extendKafkaConfig, groupKafkaConfig, KafkaSaslSchema, KafkaSslSchema, describeKafkaSecurity, resolveKafkaSecrets } from './kafka-config.js';
export type { KafkaConfig, KafkaConfigInput, KafkaSaslConfig, KafkaSslConfig } from './kafka-config.js';
export { DEFAULT_KAFKA_RETRY, KafkaAccessError, checkKafkaAccess, kafkaAccessProblem, kafkaClient, kafkaConnectionConfig } from './kafka-client.js';
export type { KafkaClientOptions, KafkaLog } from './kafka-client.js';
export { mskIamToken, mskIamTokenProvider, defaultAwsCredentials, presignQuery } from './msk-iam.js';
export type { AwsCredentials, AwsCredentialProvider } from './msk-iam.js';
