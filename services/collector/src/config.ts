import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { SourceConfigSchema, configErrorMap, issueLines } from '@sightline/object-store';

/**
 * The collector's configuration file (JSON): which tenants and cloud accounts to collect from,
 * where Kafka is, and the knobs that bound memory and concurrency. Validated at load and at every
 * reload; an invalid file is reported with the path of each bad field and what was expected.
 */

/**
 * Each source (one tenant's cloud account and prefix) is validated by the object-store package's
 * schema, which owns the clouds' details (credentials, layouts, look-back windows).
 */
export type SourceConfig = z.infer<typeof SourceConfigSchema>;

export const CollectorConfig = z.object({
  kafka: z.object({
    brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port')).min(1),
    clientId: z.string().min(1).default('sightline-collector'),
    /** prefix of every topic name (tests use a unique one) */
    topicPrefix: z.string().regex(/^[a-zA-Z0-9._-]*$/).default('sightline.'),
    flowsPartitions: z.number().int().min(1).default(6),
    workPartitions: z.number().int().min(1).default(12),
    /** consumer group of the collectors sharing the sources */
    group: z.string().min(1).default('sightline-collector'),
    /** a member silent this long is declared dead and its sources move to the others */
    sessionTimeoutMs: z.number().int().min(6000).max(300_000).default(30_000),
  }).strict(),
  collector: z.object({
    /** units of work (objects or byte ranges) read at the same time, per process */
    workers: z.number().int().min(1).max(64).default(2),
    /** rows per parsed batch */
    batchRows: z.number().int().min(64).max(65_536).default(8192),
    /** encoded batches sent but not yet acknowledged, per worker: the producer side of the memory bound */
    inflightBatches: z.number().int().min(1).max(256).default(8),
    /** interface groups per account: messages are keyed tenant/account/group, so an interface's flows keep their order */
    keyGroups: z.number().int().min(1).max(1024).default(6),
    pollIntervalMs: z.number().int().min(100).default(30_000),
    /** SQS visibility timeout while an object is processed; extended at a third of it */
    visibilitySeconds: z.number().int().min(10).max(43_200).default(60),
    /** units discovered but not started, per source (back-pressure on listing) */
    queueDepth: z.number().int().min(1).max(10_000).default(64),
  }).strict().prefault({}),
  startup: z.object({
    /** start-up (Kafka topics, producer, checkpoints, HTTP, joining the group) fails, naming the step it was at, past this */
    timeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
    /** one try of a start-up step that can be retried (topics, producer, checkpoints) is abandoned after this */
    attemptMs: z.number().int().min(500).max(600_000).default(30_000),
  }).strict().prefault({}),
  http: z.object({
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port (tests) */
    port: z.number().int().min(0).max(65_535).default(9464),
  }).strict().prefault({}),
  sources: z.array(SourceConfigSchema).min(1),
}).strict().superRefine((c, ctx) => {
  const seen = new Map<string, number>();
  c.sources.forEach((s, i) => {
    const k = sourceId(s);
    const prev = seen.get(k);
    if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['sources', i], message: `same source as sources[${prev}] (${k})` });
    else seen.set(k, i);
  });
});
export type CollectorConfig = z.infer<typeof CollectorConfig>;

/**
 * The stable name of a source: its checkpoint key, its work-topic key, its metrics label. An AWS
 * source's name ends with its key layout (`#plain`, `#hive`): a plain and a Hive-partitioned flow
 * log of one account and region can deliver to one bucket and prefix, and are two sources.
 */
export function sourceId(s: SourceConfig): string {
  switch (s.cloud) {
    case 'aws': return `${s.tenant}/aws/${s.accountId}/${s.region}/${s.bucket}/${s.prefix}#${s.layout}`;
    case 'gcp': return `${s.tenant}/gcp/${s.projectId}/${s.bucket}/${s.prefix}`;
    case 'azure': return `${s.tenant}/azure/${s.subscriptionId}/${s.storageAccount}/${s.containers.nsg ?? ''}+${s.containers.vnet ?? ''}`;
  }
}

/**
 * Names a source had under an earlier version, newest first, whose checkpoints it takes over
 * (checkpoints.ts, adopt): before the layout was part of an AWS source's name.
 */
export function legacySourceIds(s: SourceConfig): string[] {
  return s.cloud === 'aws' ? [`${s.tenant}/aws/${s.accountId}/${s.region}/${s.bucket}/${s.prefix}`] : [];
}

export function sourceAccount(s: SourceConfig): string {
  return s.cloud === 'aws' ? s.accountId : s.cloud === 'gcp' ? s.projectId : s.subscriptionId;
}

export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid collector configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Where a JSON text stops being JSON: the offset of the first character that cannot be there (the
 * text's length when it ends too early), or undefined when it is valid. Needed because V8's
 * JSON.parse messages quote the text around the error (`Unexpected token 'x', "...` on Node 20),
 * which can be a secret, and give no position at all for some errors.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const n = text.length;
  class Bad { constructor(readonly at: number) {} }
  const ws = () => { while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++; };
  const expect = (c: string) => { if (text[i] !== c) throw new Bad(i); i++; };
  const str = () => {
    expect('"');
    for (;;) {
      if (i >= n) throw new Bad(n);
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) throw new Bad(i);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Bad(i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Bad(i);
      } else i++;
    }
  };
  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws(); str(); ws(); expect(':'); value(); ws();
        if (text[i] === ',') { i++; continue; }
        expect('}'); return;
      }
    }
    if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ',') { i++; continue; }
        expect(']'); return;
      }
    }
    if (c === '"') { str(); return; }
    for (const lit of ['true', 'false', 'null']) if (text.startsWith(lit, i)) { i += lit.length; return; }
    NUM.lastIndex = i;
    if (NUM.exec(text) === null) throw new Bad(i >= n ? n : i);
    i = NUM.lastIndex;
  };
  try {
    value(); ws();
    if (i < n) throw new Bad(i);
    return undefined;
  } catch (err) {
    if (err instanceof Bad) return Math.min(err.at, n);
    throw err;
  }
}

/** Line and column (both from 1) of an offset in a text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) { line++; start = k + 1; }
  return { line, column: offset - start + 1 };
}

/** Parses and validates a configuration text; throws ConfigError naming every bad field. */
export function parseConfig(text: string, file: string): CollectorConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The position only, never JSON.parse's message: it quotes the neighbouring text, which can be a secret.
    let at: number | undefined;
    try { at = jsonErrorOffset(text); } catch { at = undefined; /* nested too deep to scan */ }
    if (at === undefined) throw new ConfigError(file, ['not valid JSON']);
    const { line, column } = lineColumn(text, at);
    throw new ConfigError(file, [`not valid JSON: ${at >= text.length ? 'the text ends early' : 'unexpected character'} at line ${line}, column ${column} (${file}:${line}:${column})`]);
  }
  // Messages only: zod's default messages can quote the received value, which may be a secret.
  const r = CollectorConfig.safeParse(raw, { reportInput: false, error: configErrorMap });
  if (!r.success) throw new ConfigError(file, issueLines(r.error.issues));
  return r.data;
}

export async function loadConfig(file: string): Promise<CollectorConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err))}`]);
  }
  return parseConfig(text, file);
}
