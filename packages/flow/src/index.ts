export * from './fields.js';
export * from './batch.js';
export * from './record.js';
export * from './ip.js';
export * from './batch-meta.js';
export * from './encoding.js';
