export * from './config.js';
export * from './tokens.js';
export * from './ingest.js';
export * from './ingest-kafka.js';
export * from './metrics.js';
export * from './log.js';
export * from './server.js';
export * from './service.js';
