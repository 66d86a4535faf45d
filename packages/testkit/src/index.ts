export * from './endpoints.js';
export * from './service-process.js';
export * from './rng.js';
export * from './kafka-read.js';
export * from './chdb.js';
export * from './fixtures.js';
