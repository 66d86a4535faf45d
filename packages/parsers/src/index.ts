export * from './types.js';
export * from './detect.js';
export * from './peek.js';
export * from './parse-object.js';
