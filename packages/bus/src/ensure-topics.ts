import kafkajs, { type Admin } from 'kafkajs';
import { z } from 'zod';
import { TopicSpec } from './topics.js';

// kafkajs is CommonJS and Node's named-export detection misses ConfigResourceTypes: read it off the default export.
const { ConfigResourceTypes } = kafkajs;

/** One way an existing topic differs from its spec. */
export interface TopicMismatch {
  topic: string;
  /** `partitions`, `replicationFactor`, or `config:<name>`. */
  what: string;
  expected: string;
  actual: string;
}

export interface EnsureTopicsReport {
  created: string[];
  existing: string[];
  mismatches: TopicMismatch[];
}

export const EnsureTopicsOptions = z.object({
  /**
   * `strict` (default) throws TopicMismatchError when an existing topic differs from its spec;
   * `report` returns the differences for the caller to log. Neither changes an existing topic:
   * adding partitions moves keys to other partitions (it breaks per-key order and the compacted
   * kube-meta topic), so that stays an operator's decision.
   */
  onMismatch: z.enum(['strict', 'report']).default('strict'),
  /** Milliseconds the broker may take to create the topics. */
  timeoutMs: z.number().int().positive().default(30_000),
});
export type EnsureTopicsOptions = z.input<typeof EnsureTopicsOptions>;

export class TopicMismatchError extends Error {
  constructor(readonly report: EnsureTopicsReport) {
    super(
      `kafka topics differ from their specs (topics were not changed; fix the spec, or alter/recreate the topic):\n` +
        report.mismatches.map((m) => `  ${m.topic}: ${m.what} is ${m.actual}, spec says ${m.expected}`).join('\n'),
    );
    this.name = 'TopicMismatchError';
  }
}

/**
 * Creates the topics that do not exist yet and compares the others with their specs (partition
 * count, replication factor, every config the spec names). Safe to call from every process at
 * start-up, concurrently: a topic created by someone else in between counts as existing.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], options: EnsureTopicsOptions = {}): Promise<EnsureTopicsReport> {
  const opts = EnsureTopicsOptions.parse(options);
  const valid = specs.map((s, i) => {
    const r = TopicSpec.safeParse(s);
    if (!r.success) throw new Error(`ensureTopics: spec #${i} (${String((s as { name?: unknown }).name)}) is invalid: ${z.prettifyError(r.error)}`);
    return r.data;
  });
  const names = valid.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new Error(`ensureTopics: duplicate topic names in specs: ${names.join(', ')}`);

  const present = new Set(await admin.listTopics());
  const missing = valid.filter((s) => !present.has(s.name));
  const created: string[] = [];
  if (missing.length > 0) {
    // waitForLeaders of kafkajs retries LEADER_NOT_AVAILABLE only; a KRaft broker answers
    // UNKNOWN_TOPIC_OR_PARTITION for a moment after the controller created the topic (seen in CI),
    // and that failed the whole call. waitForTopics below waits for both.
    const allNew = await admin.createTopics({
      waitForLeaders: false,
      timeout: opts.timeoutMs,
      topics: missing.map((s) => ({
        topic: s.name,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
      })),
    });
    // false: another process created some of them since listTopics(); which ones is not told, so
    // they all count as existing, and compare() below checks them like any existing topic.
    if (allNew) created.push(...missing.map((s) => s.name));
    await waitForTopics(admin, missing.map((s) => s.name), opts.timeoutMs);
  }

  const mismatches = await compare(admin, valid);
  const report: EnsureTopicsReport = { created, existing: names.filter((n) => !created.includes(n)), mismatches };
  if (mismatches.length > 0 && opts.onMismatch === 'strict') throw new TopicMismatchError(report);
  return report;
}

async function compare(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicMismatch[]> {
  const out: TopicMismatch[] = [];
  const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) });
  const meta = new Map(topics.map((t) => [t.name, t]));
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: specs.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.name, configNames: Object.keys(s.configs) })),
  });
  const configs = new Map(described.resources.map((r) => {
    if (r.errorCode !== 0) throw new Error(`ensureTopics: describeConfigs(${r.resourceName}) failed: ${r.errorMessage} (code ${r.errorCode})`);
    return [r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue]))];
  }));

  for (const s of specs) {
    const m = meta.get(s.name);
    if (!m) throw new Error(`ensureTopics: no metadata for topic ${s.name}`);
    if (m.partitions.length !== s.partitions) {
      out.push({ topic: s.name, what: 'partitions', expected: String(s.partitions), actual: String(m.partitions.length) });
    }
    const rf = Math.max(0, ...m.partitions.map((p) => p.replicas.length));
    if (rf !== s.replicationFactor) {
      out.push({ topic: s.name, what: 'replicationFactor', expected: String(s.replicationFactor), actual: String(rf) });
    }
    const actual = configs.get(s.name);
    for (const [name, expected] of Object.entries(s.configs)) {
      const v = actual?.get(name);
      if (v !== expected) out.push({ topic: s.name, what: `config:${name}`, expected, actual: v ?? '(absent)' });
    }
  }
  return out;
}

/** The errors a topic shows between its creation and its leaders' election. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION']);

/**
 * Waits until every topic named is in the broker's metadata with a leader for each partition:
 * what a producer or consumer needs right after a topic was created. Times out with the topics
 * still missing named.
 */
export async function waitForTopics(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  if (topics.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  let pause = 50;
  let last = 'no answer yet';
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [...topics] });
      const ready = new Set(meta.topics.filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)).map((t) => t.name));
      const waiting = topics.filter((t) => !ready.has(t));
      if (waiting.length === 0) return;
      last = `no leader yet for ${waiting.join(', ')}`;
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if (typeof type !== 'string' || !NOT_YET.has(type)) throw err;
      last = type;
    }
    if (Date.now() + pause > deadline) throw new Error(`topics ${topics.join(', ')} not ready within ${timeoutMs} ms: ${last}`);
    await new Promise((ok) => setTimeout(ok, pause));
    pause = Math.min(pause * 2, 1_000);
  }
}

/**
 * `admin.fetchTopicOffsets`, waiting out a topic that is not served yet: kafkajs retries
 * UNKNOWN_TOPIC_OR_PARTITION there but gives up at once on NOT_LEADER_FOR_PARTITION, which a
 * KRaft broker answers for a moment after the topic was created (seen in CI).
 */
export async function topicOffsets(admin: Admin, topic: string, timeoutMs = 30_000): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1_000)) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if (typeof type !== 'string' || !NOT_YET.has(type) || Date.now() + pause > deadline) throw err;
    }
    await new Promise((ok) => setTimeout(ok, pause));
  }
}
