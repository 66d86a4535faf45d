export { BusTopicsConfig, TopicKey, TopicName, TopicSpec, topicSpecs } from './topics.js';
export { EnsureTopicsOptions, TopicMismatchError, ensureTopics } from './ensure-topics.js';
export type { EnsureTopicsReport, TopicMismatch } from './ensure-topics.js';
