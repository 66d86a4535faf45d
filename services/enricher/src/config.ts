import { z } from 'zod';
import { groupKafkaConfig } from '@sightline/bus';
import { ConfigFileError, loadServiceConfig, parseServiceConfig } from '@sightline/config';
import { StoreConfigSchema, type StoreConfigInput } from '@sightline/store';
import { CloudName } from '@sightline/kube-model';
import { RetentionConfig } from './retention.js';

/**
 * The enricher's configuration file (JSON), validated at load; an invalid file is reported with
 * the path of every bad field. The ClickHouse password is never logged nor put in an error.
 */

const Name = z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, 'lower-case letters, digits, "-" and "."');

/** The store section every service shares (packages/store `StoreConfigSchema`, opened by `openStore`). */
export const StoreConfig = StoreConfigSchema;
/** what a caller may write (defaults filled by the schema) */
export type StoreConfig = StoreConfigInput;

export const EnricherConfig = z.object({
  /** brokers, topic prefix, TLS and SASL: @sightline/bus' shared Kafka config, plus the enricher's own */
  kafka: groupKafkaConfig('enricher', {
    kubeMetaPartitions: z.number().int().min(1).default(3),
  }),
  store: StoreConfig,
  enricher: z.object({
    /** hours of lease history kept in memory; flows older than this (relative to now) find no metadata */
    historyHours: z.number().positive().max(24 * 30).default(24),
    /**
     * Bounded wait for metadata: a flow batch newer than its tenant's metadata watermark waits at
     * most this long for the kube-meta consumer to catch up with the topic's end, then is
     * attributed with what is known (and counted in meta_wait_timeouts).
     */
    metaWaitMs: z.number().int().min(0).max(600_000).default(10_000),
    /**
     * Rows per store write: consecutive batches go to the store together (ClickHouse: one lookup,
     * one insert, one ledger write for all of them), fewer and larger inserts being what the server
     * does fastest. A write takes at least one batch whatever its size. At most ClickHouse's
     * max_insert_block_size (1,048,576), so that one write stays one block.
     */
    writeRows: z.number().int().min(1).max(1_048_576).default(65_536),
    /**
     * Rows decoded and attributed ahead of the store (queued or being written) before the consumer
     * waits: the memory bound of the pipeline (about 0.5 KiB per row).
     */
    pendingRows: z.number().int().min(1).max(16_777_216).default(196_608),
    /**
     * Store writes in flight at once, each for its own share of the flows partitions (partition
     * modulo writers): a ClickHouse insert runs on one server thread, so two use two cores.
     */
    writers: z.number().int().min(1).max(16).default(2),
    /** how long start-up may take to read the kube-meta topic to its end before flows are consumed */
    metaStartupTimeoutMs: z.number().int().min(1000).default(300_000),
    /** pod labels kept in `*_k8s_labels`; null keeps what the metadata carries (already allow-listed by kubetags) */
    labelAllowList: z.array(z.string().min(1)).nullable().default(null),
    /** scopes the nodes cannot tell (AWS account and VPC, networks): per tenant and cluster */
    clusters: z.array(z.object({
      tenant: Name,
      cluster: Name,
      cloud: CloudName.optional(),
      accounts: z.array(z.string().min(1)).default([]),
      networks: z.array(z.string().min(1)).default([]),
    }).strict()).default([]),
  }).strict().prefault({}),
  /** days kept per table, per tenant, and the schedule that applies them (see README) */
  retention: RetentionConfig,
  http: z.object({
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port (tests) */
    port: z.number().int().min(0).max(65_535).default(9465),
  }).strict().prefault({}),
}).strict();
export type EnricherConfig = z.infer<typeof EnricherConfig>;
export type EnricherConfigInput = z.input<typeof EnricherConfig>;

export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid enricher configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates a parsed configuration (the enricher's own file); `where` names it in errors. */
export function parseConfig(input: unknown, where: string): EnricherConfig {
  return asConfigError(() => parseServiceConfig(input, where, EnricherConfig));
}

/**
 * The enricher's configuration file: JSON, or YAML for a .yaml/.yml file; its part of the one
 * backend file or its own file. Errors name places, never values (packages/config).
 */
export async function loadConfig(file: string): Promise<EnricherConfig> {
  return asConfigError(() => loadServiceConfig(file, EnricherConfig, { service: 'enricher' }));
}

function asConfigError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof ConfigFileError ? new ConfigError(err.file, err.problems) : err;
  }
}
