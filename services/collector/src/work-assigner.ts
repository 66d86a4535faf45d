import kafkajs, { type Assigner, type GroupMember, type GroupMemberAssignment, type PartitionAssigner } from 'kafkajs';

const { AssignerProtocol, PartitionAssigners } = kafkajs;

/**
 * Round-robin over the work topic's partitions in partition-id order, members sorted by id.
 *
 * kafkajs's own RoundRobinAssigner deals partitions in the order the broker's metadata lists
 * them, and a KRaft broker (3.9) lists a fresh topic's partitions in no fixed order (seen:
 * [1,3,2,5,0,4]), so which sources a process owns changed with the broker rather than with the
 * members. Sorting makes ownership a function of the members alone: with N members, member k
 * (by sorted id) owns the partitions p with p mod N = k, which operators (and the scale-out test)
 * can predict from a source's partition.
 */
export const SORTED_ROUND_ROBIN = 'SightlineSortedRoundRobin';

export function assignSorted(members: string[], topics: { topic: string; partitions: number[] }[]): Map<string, Record<string, number[]>> {
  const sorted = [...members].sort();
  const out = new Map<string, Record<string, number[]>>();
  if (sorted.length === 0) return out;
  let i = 0;
  for (const { topic, partitions } of [...topics].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))) {
    for (const p of [...partitions].sort((a, b) => a - b)) {
      const m = sorted[i++ % sorted.length]!;
      const a = out.get(m) ?? Object.create(null) as Record<string, number[]>;
      (a[topic] ??= []).push(p);
      out.set(m, a);
    }
  }
  return out;
}

export const sortedRoundRobin: PartitionAssigner = ({ cluster }) => {
  const assigner: Assigner = {
    name: SORTED_ROUND_ROBIN,
    version: 0,
    async assign({ members, topics }: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]> {
      const plan = assignSorted(members.map((m) => m.memberId), topics.map((topic) => ({
        topic, partitions: cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId),
      })));
      return [...plan].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: assigner.version, assignment, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }: { topics: string[] }) {
      return { name: assigner.name, metadata: AssignerProtocol.MemberMetadata.encode({ version: assigner.version, topics, userData: Buffer.alloc(0) }) };
    },
  };
  return assigner;
};

/**
 * Ours first; kafkajs's round-robin second so a group mixing this release with an older one (a
 * rolling upgrade) still finds a protocol every member supports instead of failing to join.
 */
export const workAssigners: PartitionAssigner[] = [sortedRoundRobin, PartitionAssigners.roundRobin];
