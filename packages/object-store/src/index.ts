export * from './types.js';
export * from './errors.js';
export * from './config.js';
export * from './listing-window.js';
export * from './sts.js';
export * from './s3.js';
export * from './sqs.js';
export * from './gcs.js';
