import { z } from 'zod';
import { SourceConfigSchema, configErrorMap } from '@sightline/object-store';
import { groupKafkaConfig } from '@sightline/bus';
import { ConfigFileError, loadServiceConfig, parseConfigText, parseServiceConfig } from '@sightline/config';

export { jsonErrorOffset, lineColumn } from '@sightline/service-kit';

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

/** How the collect stage cuts a unit into messages (rows per parsed batch, interface groups per account): the embedded mode uses the same, so both modes make the same batches. */
export const COLLECT_DEFAULTS = { batchRows: 8192, keyGroups: 6 } as const;

export const CollectorConfig = z.object({
  /** brokers, topic prefix, TLS and SASL: @sightline/bus' shared Kafka config, plus the collector's own */
  kafka: groupKafkaConfig('collector', {
    /** partitions of the work topic: the sources are spread over the group by them */
    workPartitions: z.number().int().min(1).default(12),
  }),
  collector: z.object({
    /** units of work (objects or byte ranges) read at the same time, per process */
    workers: z.number().int().min(1).max(64).default(2),
    /** rows per parsed batch */
    batchRows: z.number().int().min(64).max(65_536).default(COLLECT_DEFAULTS.batchRows),
    /** encoded batches sent but not yet acknowledged, per worker: the producer side of the memory bound */
    inflightBatches: z.number().int().min(1).max(256).default(8),
    /** interface groups per account: messages are keyed tenant/account/group, so an interface's flows keep their order */
    keyGroups: z.number().int().min(1).max(1024).default(COLLECT_DEFAULTS.keyGroups),
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
 * Parses and validates a configuration text (JSON, or YAML for a .yaml/.yml file; the collector's
 * part of the one backend file or its own file); throws ConfigError naming every bad field by its
 * place, never its value (packages/config).
 */
export function parseConfig(text: string, file: string): CollectorConfig {
  return asConfigError(file, () => parseServiceConfig(parseConfigText(text, file), file, CollectorConfig, OPTS));
}

export async function loadConfig(file: string): Promise<CollectorConfig> {
  return asConfigError(file, () => loadServiceConfig(file, CollectorConfig, OPTS));
}

const OPTS = { service: 'collector', error: configErrorMap } as const;

function asConfigError<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof ConfigFileError ? new ConfigError(file, err.problems) : err;
  }
}
