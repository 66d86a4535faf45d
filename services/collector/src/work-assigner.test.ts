import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { assignSorted, sortedRoundRobin, SORTED_ROUND_ROBIN } from './work-assigner.js';

// The order a KRaft 3.9 broker listed a fresh 6-partition work topic in (metadata response).
const BROKER_ORDER = [1, 3, 2, 5, 0, 4];

test('partitions are dealt in id order whatever order the broker lists them in', () => {
  const plan = assignSorted(['m-b', 'm-a'], [{ topic: 'w', partitions: BROKER_ORDER }]);
  assert.deepEqual({ ...plan.get('m-a') }, { w: [0, 2, 4] });
  assert.deepEqual({ ...plan.get('m-b') }, { w: [1, 3, 5] });
  // the same plan whatever the order of members and partitions
  assert.deepEqual(assignSorted(['m-a', 'm-b'], [{ topic: 'w', partitions: [5, 4, 3, 2, 1, 0] }]), plan);
});

test('every partition goes to exactly one member, counts differing by at most one', () => {
  const members = ['c', 'a', 'b'];
  const plan = assignSorted(members, [{ topic: 'w', partitions: [6, 0, 5, 1, 4, 2, 3] }]);
  const seen = [...plan.values()].flatMap((a) => a['w'] ?? []).sort((x, y) => x - y);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
  const counts = members.map((m) => plan.get(m)?.['w']?.length ?? 0);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `counts ${counts.join(',')}`);
  assert.deepEqual({ ...plan.get('a') }, { w: [0, 3, 6] });
  assert.equal(assignSorted([], [{ topic: 'w', partitions: [0] }]).size, 0);
});

test('the kafkajs assigner encodes the plan in the group protocol kafkajs decodes', async () => {
  const cluster = { findTopicPartitionMetadata: () => BROKER_ORDER.map((partitionId) => ({ partitionId })) };
  const a = sortedRoundRobin({ cluster, groupId: 'g', logger: undefined } as unknown as Parameters<typeof sortedRoundRobin>[0]);
  const proto = a.protocol({ topics: ['w'] });
  assert.equal(proto.name, SORTED_ROUND_ROBIN);
  assert.deepEqual(kafkajs.AssignerProtocol.MemberMetadata.decode(proto.metadata)?.topics, ['w']);
  const out = await a.assign({ members: [{ memberId: 'y', memberMetadata: proto.metadata }, { memberId: 'x', memberMetadata: proto.metadata }], topics: ['w'] });
  const decoded = new Map(out.map((o) => [o.memberId, kafkajs.AssignerProtocol.MemberAssignment.decode(o.memberAssignment)?.assignment]));
  assert.deepEqual(decoded.get('x'), { w: [0, 2, 4] });
  assert.deepEqual(decoded.get('y'), { w: [1, 3, 5] });
});
