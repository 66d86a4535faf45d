import { randomUUID } from 'node:crypto';
import kafkajs, { type Consumer } from 'kafkajs';
import { z } from 'zod';
import type { Logger } from './log.js';
import type { QueryResponse } from './query.js';
import { DeadLettersRequest, deadLetterRange, describeIssue, QueryError, type DeadLetterView } from './query-schema.js';
import { bearer, type TokenIndex } from './tokens.js';

const { Kafka, logLevel } = kafkajs;

/**
 * The tenant's dead letters for the console's health page. Today the collector writes them to the
 * Kafka topic `<prefix>dead-letter` (services/collector/src/dead-letter.ts; 30 days, keyed
 * `<tenant>/<account>`) and nothing stores them: the API reads that topic from its start and keeps
 * the newest letters of each tenant in memory, read-only. The offending bytes a letter carries for
 * replay are never kept nor returned.
 */

/** The collector's letter as read here: only what the page shows, and lenient about additions. */
export const DeadLetterMessage = z.object({
  kind: z.string().max(64),
  reason: z.string(),
  stage: z.string().max(64),
  ref: z.object({
    cloud: z.string().max(16).optional(),
    tenant: z.string().min(1),
    account: z.string().optional(),
    bucket: z.string().optional(),
    key: z.string().optional(),
    version: z.string().optional(),
    range: z.object({ start: z.number(), end: z.number() }).optional(),
    blocks: z.object({ first: z.number(), last: z.number() }).optional(),
  }),
  line: z.number().int().optional(),
  offset: z.number().int().optional(),
  at: z.string(),
});

/** Most characters of a reason kept (a parser's reason quotes at most a short excerpt; a longer one is cut). */
const MAX_REASON = 2000;

/** A letter as the API shows it, with its tenant; null when the message is not a letter (logged by the caller). */
export function readLetter(value: Buffer | string): { tenant: string; letter: DeadLetterView } | null {
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return null;
  }
  const r = DeadLetterMessage.safeParse(json);
  if (!r.success) return null;
  const m = r.data;
  const at = Date.parse(m.at);
  if (!Number.isFinite(at)) return null;
  return {
    tenant: m.ref.tenant,
    letter: {
      at,
      kind: m.kind,
      reason: m.reason.length > MAX_REASON ? `${m.reason.slice(0, MAX_REASON)}…` : m.reason,
      stage: m.stage,
      cloud: m.ref.cloud ?? null,
      account: m.ref.account ?? null,
      bucket: m.ref.bucket ?? null,
      object: m.ref.key ?? null,
      version: m.ref.version ?? null,
      line: m.line ?? null,
      offset: m.offset ?? null,
      range: m.ref.range ?? null,
      blocks: m.ref.blocks ?? null,
    },
  };
}

/** Where the route reads letters from. */
export interface DeadLetterSource {
  /** letters kept per tenant */
  readonly kept: number;
  /** the tenant's letters with from <= at < to, newest first, at most `limit`; `truncated` when more matched */
  list(tenant: string, from: number | null, to: number, limit: number): { letters: DeadLetterView[]; truncated: boolean };
}

/**
 * The newest `perTenant` letters of each tenant, in arrival order (the topic's order); at most
 * `maxTenants` tenants, the one heard from least recently forgotten first, so a flood of made-up
 * tenant names cannot grow it without bound.
 */
export class DeadLetterBuffer implements DeadLetterSource {
  private readonly byTenant = new Map<string, DeadLetterView[]>();

  constructor(
    readonly kept = 1000,
    private readonly maxTenants = 10_000,
  ) {}

  add(tenant: string, letter: DeadLetterView): void {
    let list = this.byTenant.get(tenant);
    if (list) this.byTenant.delete(tenant);
    else {
      list = [];
      if (this.byTenant.size >= this.maxTenants) this.byTenant.delete(this.byTenant.keys().next().value!);
    }
    this.byTenant.set(tenant, list);
    list.push(letter);
    if (list.length > this.kept) list.splice(0, list.length - this.kept);
  }

  list(tenant: string, from: number | null, to: number, limit: number): { letters: DeadLetterView[]; truncated: boolean } {
    const list = this.byTenant.get(tenant) ?? [];
    const out: DeadLetterView[] = [];
    let truncated = false;
    // newest first: the topic's order is the order they were written in, not always `at` order, so sort what matched
    const matched = list.filter((l) => l.at < to && (from === null || l.at >= from)).sort((a, b) => b.at - a.at);
    for (const l of matched) {
      if (out.length === limit) {
        truncated = true;
        break;
      }
      out.push(l);
    }
    return { letters: out, truncated };
  }
}

export interface DeadLetterReaderOptions {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  /** letters kept per tenant */
  perTenant?: number;
}

/**
 * Reads the dead-letter topic from its start into a buffer. A consumer group of its own per process
 * (every API replica keeps the whole topic; nothing is committed), so replicas never split it.
 */
export class KafkaDeadLetterReader {
  readonly buffer: DeadLetterBuffer;
  readonly topic: string;
  private readonly consumer: Consumer;
  private skipped = 0;

  constructor(
    opts: DeadLetterReaderOptions,
    private readonly log: Logger,
  ) {
    this.buffer = new DeadLetterBuffer(opts.perTenant ?? 1000);
    this.topic = `${opts.topicPrefix}dead-letter`;
    const kafka = new Kafka({ clientId: opts.clientId, brokers: opts.brokers, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
    this.consumer = kafka.consumer({ groupId: `${opts.clientId}-dead-letters-${randomUUID()}`, allowAutoTopicCreation: false });
  }

  /** Subscribes and starts reading; resolves once the consumer runs (the topic is read in the background). */
  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        const r = message.value === null ? null : readLetter(message.value);
        if (r === null) {
          // once per 1000: a topic full of foreign messages must not flood the log
          if (this.skipped++ % 1000 === 0) this.log.warn({ topic: this.topic, partition, offset: message.offset, skipped: this.skipped }, 'dead letters: a message that is not a dead letter was skipped');
          return;
        }
        this.buffer.add(r.tenant, r.letter);
      },
    });
  }

  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  /**
   * Starts, and keeps trying every `retryMs` while it cannot (the topic is created by the first
   * collector; the API may start before it): the API serves meanwhile, with no letters yet.
   */
  startInBackground(retryMs = 30_000): void {
    const attempt = () => {
      if (this.stopped) return;
      this.start().then(
        () => this.log.info({ topic: this.topic }, 'dead letters: reading'),
        (err: unknown) => {
          this.log.warn({ topic: this.topic, err: err instanceof Error ? err.message : String(err), retryMs }, 'dead letters: cannot read the topic yet; retrying');
          void this.consumer.disconnect().catch(() => undefined);
          if (!this.stopped) this.retry = setTimeout(attempt, retryMs);
        },
      );
    };
    attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.consumer.disconnect();
  }
}

export interface DeadLetterDeps {
  tokens: TokenIndex;
  /** null: this server reads no dead letters (answers `available: false`) */
  source: DeadLetterSource | null;
}

/** GET /v1/deadletters: the read token's tenant only; 401/403 as the query routes. */
export function handleDeadLetters(deps: DeadLetterDeps, req: { authorization: string | undefined; search: URLSearchParams; arrived: number }): QueryResponse {
  const fail = (status: number, error: string, message: string, path?: string): QueryResponse => ({ status, body: path === undefined ? { error, message } : { error, message, path } });
  const token = bearer(req.authorization);
  const who = token === null ? null : deps.tokens.lookupReader(token);
  if (who === null) return fail(401, 'unauthenticated', token === null ? 'missing or malformed bearer token' : 'unknown token');
  if (who === 'ingest-token') return fail(403, 'ingest-token', 'this is a cluster ingest token; dead letters need a tenant read token');
  const raw: Record<string, unknown> = {};
  for (const [k, v] of req.search) raw[k] = (k === 'limit' || k === 'from' || k === 'to') && /^[0-9]{1,15}$/.test(v) ? Number(v) : v;
  const parsed = DeadLettersRequest.safeParse(raw);
  if (!parsed.success) {
    const d = describeIssue(parsed.error);
    return fail(400, 'bad-query', d.message, d.path);
  }
  let range: { from: number | null; to: number };
  try {
    range = deadLetterRange(parsed.data, req.arrived);
  } catch (err) {
    if (err instanceof QueryError) return fail(400, 'bad-query', `${err.path ?? '(request)'}: ${err.message}`, err.path);
    throw err;
  }
  if (deps.source === null) return { status: 200, body: { available: false, from: range.from, to: range.to, letters: [], truncated: false, kept: 0 } };
  const { letters, truncated } = deps.source.list(who.tenant, range.from, range.to, parsed.data.limit);
  return { status: 200, body: { available: true, from: range.from, to: range.to, letters, truncated, kept: deps.source.kept } };
}
