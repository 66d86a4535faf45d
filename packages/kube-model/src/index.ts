export * from './objects.js';
export * from './envelope.js';
export * from './placement.js';
export * from './intervals.js';
export * from './kubectl.js';
export * from './api-objects.js';
export * from './kube-meta.js';
