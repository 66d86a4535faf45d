export * from './http.js';
export * from './log.js';
export * from './kafka.js';
export * from './json-errors.js';
export * from './config-watch.js';
