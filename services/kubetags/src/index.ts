export * from './agent.js';
export * from './config.js';
export * from './lister.js';
export * from './log.js';
export * from './metrics.js';
export * from './placement.js';
export * from './sender.js';
export * from './transport.js';
