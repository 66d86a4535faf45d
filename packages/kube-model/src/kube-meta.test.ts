import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvelopeSchema } from './envelope.js';
import { envelopeRecords, KubeMetaRecordSchema, partitionFor, snapshotKey } from './kube-meta.js';

const pod = (uid: string) => ({ kind: 'Pod', uid, name: `p-${uid}`, namespace: 'shop', createdAt: '2025-03-10T08:00:00Z', podIPs: ['10.0.1.7'], phase: 'Running' });
const base = { cluster: 'prod-eks', resourceVersion: '42', sentAt: '2025-03-10T12:00:00Z' };

test('a delta becomes one upsert per object and a delete record then a tombstone per deletion, keyed tenant/cluster/kind/uid', () => {
  const env = EnvelopeSchema.parse({ ...base, full: false, epoch: 7, upserts: [{ at: '2025-03-10T11:59:00Z', object: pod('a') }], deletes: [{ at: '2025-03-10T11:59:30Z', kind: 'Pod', uid: 'b', namespace: 'shop', name: 'p-b' }] });
  const recs = envelopeRecords('acme', env);
  assert.deepEqual(recs.map((r) => [r.key, r.value?.type ?? null]), [
    ['acme/prod-eks/Pod/a', 'upsert'],
    ['acme/prod-eks/Pod/b', 'delete'],
    ['acme/prod-eks/Pod/b', null],
  ]);
  for (const r of recs) if (r.value) assert.ok(KubeMetaRecordSchema.safeParse(r.value).success);
  const del = recs[1]!.value;
  assert.equal(del?.type === 'delete' ? `${del.at} ${del.epoch}` : '', '2025-03-10T11:59:30Z 7');
});

test('only the last part of a full snapshot adds the marker, with the total the agent counted', () => {
  const part = (index: number, last: boolean, total?: number) =>
    EnvelopeSchema.parse({ ...base, full: true, epoch: 9, part: { index, last, ...(total !== undefined ? { total } : {}) }, upserts: [{ at: base.sentAt, object: pod(`u${index}`) }] });
  assert.equal(envelopeRecords('acme', part(0, false)).length, 1);
  const last = envelopeRecords('acme', part(1, true, 2));
  assert.equal(last.length, 2);
  assert.equal(last[1]!.key, snapshotKey('acme', 'prod-eks'));
  assert.deepEqual(last[1]!.value, { type: 'snapshot', tenant: 'acme', cluster: 'prod-eks', epoch: 9, at: base.sentAt, resourceVersion: '42', objects: 2 });
  assert.ok(!EnvelopeSchema.safeParse({ ...base, full: false, part: { index: 0, last: true } }).success, 'a delta has no parts');
});

test('a cluster always maps to the same partition, and clusters spread', () => {
  assert.equal(partitionFor('acme', 'prod', 3), partitionFor('acme', 'prod', 3));
  const seen = new Set(Array.from({ length: 60 }, (_, i) => partitionFor('acme', `c${i}`, 3)));
  assert.equal(seen.size, 3);
});
