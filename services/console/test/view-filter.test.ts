import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiFilter } from '../src/view.js';

// A filter typed in the console reaches the API as the API's type: ports (the service port, the
// rollups' port, included) and the protocol as numbers, else the API answers 400 for a string.
test('console filters: port dimensions, the service port included, go to the API as numbers', () => {
  for (const dimension of ['src_port', 'dst_port', 'service_port', 'protocol']) {
    assert.deepEqual(apiFilter({ dimension, op: 'eq', values: ['443'] }, false), { dimension, op: 'eq', value: 443 }, dimension);
    assert.deepEqual(apiFilter({ dimension, op: 'in', values: ['443', '(null)'] }, true), { dimension, op: 'in', values: [443, null] }, dimension);
  }
  assert.deepEqual(apiFilter({ dimension: 'dst_namespace', op: 'eq', values: ['443'] }, false), { dimension: 'dst_namespace', op: 'eq', value: '443' });
});
