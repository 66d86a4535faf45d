export * from './lease-index.js';
export * from './endpoints.js';
export * from './workload.js';
export * from './scope.js';
export * from './cluster-state.js';
export * from './attributor.js';
export * from './k8s-json.js';
export * from './kubectl-cluster.js';
