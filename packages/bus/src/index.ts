export { BusTopicsConfig, CollectorTopicKey, CollectorTopicsConfig, TopicKey, TopicName, TopicSpec, collectorTopicSpecs, topicSpecs } from './topics.js';
export { EnsureTopicsOptions, TopicMismatchError, ensureTopics, topicOffsets, waitForTopics } from './ensure-topics.js';
export type { EnsureTopicsReport, TopicMismatch } from './ensure-topics.js';
