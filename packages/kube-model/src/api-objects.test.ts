import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectionPath, fromApiObject, rfc3339, WATCHED_KINDS, type WatchedKind } from './api-objects.js';
import { fromKubectlList } from './kubectl.js';
import { ReduceError } from './kubectl.js';

// the EKS dump is kept once, with the other cluster dumps in attribution (its generator writes it there)
const TD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../attribution/src/testdata');
const dump = JSON.parse(fs.readFileSync(path.join(TD, 'eks.json'), 'utf8')) as { items: Array<Record<string, unknown>> };

// client-node's typed lists deserialize every date-time field into a Date and leave `kind` off the items.
const TIME_FIELDS = new Set(['creationTimestamp', 'deletionTimestamp', 'startTime', 'finishedAt', 'startedAt', 'lastTransitionTime']);
function asClientNode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(asClientNode);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = TIME_FIELDS.has(k) && typeof x === 'string' ? new Date(x) : asClientNode(x);
    return out;
  }
  return v;
}

test('client-node typed objects (Dates, no kind) reduce exactly like the kubectl dump of the same objects', () => {
  const allow = new Set(['app']);
  const expected = fromKubectlList(dump, { source: 'eks.json', labelAllowList: ['app'] }).objects;
  const got = dump.items.flatMap((item) => {
    const { kind, ...rest } = item as { kind: WatchedKind };
    const o = fromApiObject(kind, asClientNode(rest), allow);
    return o ? [o] : [];
  });
  assert.equal(got.length, expected.length);
  assert.deepEqual(got, expected);
  assert.ok(got.some((o) => o.kind === 'Pod' && o.startTime !== null), 'pod start times survive the Date round trip');
});

test('rfc3339 keeps the API server form; fractions stay', () => {
  assert.equal(rfc3339(new Date('2025-03-10T08:00:02Z')), '2025-03-10T08:00:02Z');
  assert.equal(rfc3339(new Date('2025-03-10T08:00:02.5Z')), '2025-03-10T08:00:02.500Z');
});

test('an object missing its uid is a ReduceError naming the field; a deletion Date becomes deletedAt', () => {
  assert.throws(() => fromApiObject('Pod', { metadata: { name: 'p', creationTimestamp: new Date() } }, new Set()), (e: unknown) => e instanceof ReduceError && /metadata\.uid/.test(e.message));
  const o = fromApiObject('Service', { metadata: { uid: 'u', name: 's', namespace: 'n', creationTimestamp: new Date('2025-03-10T08:00:00Z'), deletionTimestamp: new Date('2025-03-10T09:00:00Z') }, spec: { clusterIP: 'None' } }, new Set());
  assert.deepEqual(o && o.kind === 'Service' ? [o.deletedAt, o.clusterIPs] : null, ['2025-03-10T09:00:00Z', []]);
});

test('collection paths of the core and grouped kinds', () => {
  const p = Object.fromEntries(WATCHED_KINDS.map((k) => [k.kind, collectionPath(k)]));
  assert.equal(p.Pod, '/api/v1/pods');
  assert.equal(p.EndpointSlice, '/apis/discovery.k8s.io/v1/endpointslices');
  assert.equal(p.CronJob, '/apis/batch/v1/cronjobs');
  assert.equal(WATCHED_KINDS.length, 10);
});
