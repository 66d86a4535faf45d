import type { Consumer, Kafka, Producer } from 'kafkajs';
import { groupOf } from './interface-groups.js';
import { errField, type Logger } from './log.js';
import { settlesWithin } from './startup.js';
import { workAssigners } from './work-assigner.js';

/**
 * Which sources this process owns, decided by Kafka: every collector joins one consumer group on
 * the work topic, and the partitions the group assigns to a member are the sources it runs (a
 * source lives on partition hash(source id) mod partitions). When a member dies or leaves, the
 * group rebalances and its partitions, hence its sources, move to the others, who resume them
 * from the durable checkpoints. No lease table, no home-made election.
 */
export class Ownership {
  private consumer: Consumer | undefined;
  /** consumer.run(): settles once the first group join is done */
  private running: Promise<void> | undefined;
  private owned = new Set<number>();

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly group: string,
    private readonly sessionTimeoutMs: number,
    private readonly log: Logger,
    /** called with the partitions owned after every assignment (possibly unchanged) */
    private readonly onAssignment: (partitions: Set<number>) => void,
  ) {}

  partitionOf(sourceId: string): number {
    return groupOf(sourceId, this.partitions);
  }

  owns(sourceId: string): boolean {
    return this.owned.has(this.partitionOf(sourceId));
  }

  /** Publishes the sources of the configuration to the work topic (compacted: one record each). */
  async announce(producer: Producer, sources: { id: string; tenant: string; cloud: string; account: string }[]): Promise<void> {
    if (sources.length === 0) return;
    await producer.send({
      topic: this.topic, acks: -1,
      messages: sources.map((s) => ({ key: s.id, partition: this.partitionOf(s.id), value: JSON.stringify(s) })),
    });
  }

  async start(): Promise<void> {
    const c = this.kafka.consumer({
      groupId: this.group,
      sessionTimeout: this.sessionTimeoutMs,
      rebalanceTimeout: this.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(this.sessionTimeoutMs / 10)),
      allowAutoTopicCreation: false,
      // Partitions dealt in id order, not in the broker's metadata order (see work-assigner.ts).
      partitionAssigners: workAssigners,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    this.consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => {
      const mine = new Set(e.payload.memberAssignment[this.topic] ?? []);
      this.owned = mine;
      this.log.info({ partitions: [...mine].sort((a, b) => a - b), leader: e.payload.isLeader }, 'work assignment');
      this.onAssignment(mine);
    });
    c.on(c.events.CRASH, (e) => {
      this.log.warn({ err: errField(e.payload.error), restart: e.payload.restart }, 'work consumer crashed; kafkajs rejoins the group');
      if (!e.payload.restart) {
        // Without a group there is no ownership: stop everything rather than run sources another member may own.
        this.owned = new Set();
        this.onAssignment(this.owned);
      }
    });
    await c.connect();
    await c.subscribe({ topic: this.topic, fromBeginning: true });
    // The records are only announcements; reading them keeps the member's fetch loop (and heartbeats) going.
    this.running = c.run({ autoCommit: true, eachMessage: async () => undefined });
    await this.running;
  }

  async stop(): Promise<void> {
    // A disconnect while run() is still joining returns at once, but the join goes on and the
    // member then stays in the group, owning partitions nobody works on (kafkajs #1639): let it settle first.
    if (this.running && !(await settlesWithin(this.running, 15_000))) this.log.warn('the work group join still in flight after 15000 ms; leaving anyway');
    this.running = undefined;
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }
}
