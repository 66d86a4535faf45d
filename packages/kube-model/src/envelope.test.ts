import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvelopeSchema } from './envelope.js';

const pod = { kind: 'Pod', uid: 'u1', name: 'web-1', namespace: 'shop', createdAt: '2025-03-10T08:00:00Z', podIPs: ['10.0.1.77'], phase: 'Running' };

test('envelope: a delta carries upserts and deletes with event times; defaults filled', () => {
  const e = EnvelopeSchema.parse({
    cluster: 'prod-eks', resourceVersion: '123', sentAt: '2025-03-10T12:00:00Z', full: false,
    upserts: [{ at: '2025-03-10T11:59:58Z', object: pod }],
    deletes: [{ at: '2025-03-10T11:59:59Z', kind: 'Pod', uid: 'u0', namespace: 'batch', name: 'job-1' }],
  });
  const o = e.upserts[0]!.object;
  assert.equal(o.kind, 'Pod');
  if (o.kind === 'Pod') assert.deepEqual([o.hostNetwork, o.labels, o.finishedAt, o.deletedAt], [false, {}, null, null]);
});

test('envelope: rejects a full snapshot with deletes, unknown kinds and bad times', () => {
  const base = { cluster: 'c', resourceVersion: '1', sentAt: '2025-03-10T12:00:00Z' };
  assert.ok(!EnvelopeSchema.safeParse({ ...base, full: true, deletes: [{ at: base.sentAt, kind: 'Pod', uid: 'u', name: 'p' }] }).success);
  assert.ok(!EnvelopeSchema.safeParse({ ...base, full: false, upserts: [{ at: base.sentAt, object: { ...pod, kind: 'Secret' } }] }).success);
  assert.ok(!EnvelopeSchema.safeParse({ ...base, sentAt: 'yesterday', full: false }).success);
});
