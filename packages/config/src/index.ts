export * from './schema.js';
export * from './map.js';
export * from './load.js';
