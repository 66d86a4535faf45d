export { Enricher, openStore } from './enricher.js';
export { EnricherConfig, StoreConfig, ConfigError, loadConfig, parseConfig, type EnricherConfigInput } from './config.js';
export { EnricherMetrics } from './metrics.js';
export { MetaConsumer } from './meta-consumer.js';
export { runEnricher } from './cli.js';
