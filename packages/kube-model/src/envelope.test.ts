import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvelopeSchema, IngestEnvelopeSchema } from './envelope.js';

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

test('ingest envelope: uids, names and addresses as the API server allows them, each refusal with its path', () => {
  const base = { cluster: 'c', resourceVersion: '1', sentAt: '2025-03-10T12:00:00Z', full: false };
  const issues = (e: Record<string, unknown>) => {
    const r = IngestEnvelopeSchema.safeParse({ ...base, ...e });
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };
  const up = (o: Record<string, unknown>) => ({ upserts: [{ at: base.sentAt, object: { ...pod, ...o } }] });
  assert.deepEqual(issues(up({})), []);
  assert.deepEqual(issues(up({ uid: '../../other-tenant/Pod/x' })), ['upserts.0.object.uid']);
  assert.deepEqual(issues(up({ uid: '0F8C2D3E' })), ['upserts.0.object.uid'], 'upper case');
  assert.deepEqual(issues(up({ uid: 'a'.repeat(129) })), ['upserts.0.object.uid']);
  assert.deepEqual(issues(up({ podIPs: ['10.0.1.77', 'fd00::5', '10.0.1.256', '10.0.0.0/8', 'fe80::1%eth0'] })), ['upserts.0.object.podIPs.2', 'upserts.0.object.podIPs.3', 'upserts.0.object.podIPs.4']);
  assert.deepEqual(issues(up({ name: 'Web_1', namespace: '-shop', node: 'ip-10-0-0-1.ec2.internal', ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5d', uid: 'x/y' }] })), ['upserts.0.object.name', 'upserts.0.object.namespace', 'upserts.0.object.ownerReferences.0.uid']);
  const node = { kind: 'Node', uid: 'n1', name: 'node-1', createdAt: base.sentAt, addresses: [{ type: 'InternalIP', address: 'node-1' }] };
  assert.deepEqual(issues({ upserts: [{ at: base.sentAt, object: node }] }), ['upserts.0.object.addresses.0.address']);
  const svc = { kind: 'Service', uid: 's1', name: 'web', namespace: 'shop', createdAt: base.sentAt, clusterIPs: ['10.96.0.1'], externalIPs: ['1.2.3'], loadBalancerIPs: ['lb.example.com'] };
  assert.deepEqual(issues({ upserts: [{ at: base.sentAt, object: svc }] }), ['upserts.0.object.externalIPs.0', 'upserts.0.object.loadBalancerIPs.0']);
  // an FQDN EndpointSlice holds host names: its addresses stay free
  const slice = { kind: 'EndpointSlice', uid: 'e1', name: 'web-abc', namespace: 'shop', createdAt: base.sentAt, service: 'web', endpoints: [{ addresses: ['db.example.com'], podUid: 'Bad/Uid' }] };
  assert.deepEqual(issues({ upserts: [{ at: base.sentAt, object: slice }] }), ['upserts.0.object.endpoints.0.podUid']);
  assert.deepEqual(issues({ deletes: [{ at: base.sentAt, kind: 'Pod', uid: '..', namespace: 'shop', name: 'web.' }] }), ['deletes.0.uid', 'deletes.0.name']);
  // the lenient schema (kubectl dumps, records already in Kafka) is unchanged
  assert.ok(EnvelopeSchema.safeParse({ ...base, ...up({ uid: 'Odd_UID' }) }).success);
});
