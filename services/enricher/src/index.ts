export { attributeStage, Enricher, openStore } from './enricher.js';
export { WritePipeline, type PendingMessage, type WritePipelineOptions, type WriteTarget } from './write-pipeline.js';
export { EnricherConfig, StoreConfig, ConfigError, loadConfig, parseConfig, type EnricherConfigInput } from './config.js';
export { EnricherMetrics } from './metrics.js';
export { MetaConsumer } from './meta-consumer.js';
export { runEnricher } from './cli.js';
