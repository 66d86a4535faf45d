import { z } from 'zod';
import { ClickHouseStore } from './clickhouse-store.js';
import type { StoreLogger } from './clickhouse-log.js';
import { NodeUrlSchema } from './clickhouse-shard-mutations.js';
import { DuckDBStore } from './duckdb-store.js';
import type { RetentionDays } from './retention.js';

const size = z.string().regex(/^\d+(\.\d+)?\s*[KMGT]i?B$/i, 'a size such as 1GB');
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and underscore');

/**
 * The `store` section every service reads (the enricher writes it, the query API and the embedded
 * mode read it): one union, so a field means the same everywhere and the one-file config hands the
 * same object to each. A field only one side uses is accepted by both and ignored by the other
 * (`connections` by writers, `lowCardinality` by readers), so one section serves both.
 */
export const DuckDBStoreSectionSchema = z.strictObject({
  engine: z.literal('duckdb'),
  /** the database file */
  path: z.string().min(1),
  /**
   * DuckDB's buffer memory for the file (`memory_limit`). Every opener of the file in one process
   * shares one instance and must give the same value. Absent: the API's
   * `query.limits.duckdb.memoryLimit` for its connections, DuckDB's default (80% of RAM) for a writer.
   */
  memoryLimit: size.optional(),
  /** the query API's connections on the file, each running one query at a time; writers use one */
  connections: z.number().int().min(1).max(16).default(2),
});

export const ClickHouseStoreSectionSchema = z.strictObject({
  engine: z.literal('clickhouse'),
  url: z.string().url(),
  database: identifier,
  username: z.string().default('default'),
  /** inline password (never logged); the query API refuses it: give `passwordFile` */
  password: z.string().optional(),
  /** a file holding the password (wins over `password`); read when the store opens */
  passwordFile: z.string().min(1).optional(),
  /** HTTPS: the CA file the server's certificate chains to, and a client certificate and key for mutual TLS */
  tls: z
    .strictObject({ caFile: z.string().min(1), certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), 'tls.certFile and tls.keyFile go together')
    .optional(),
  /** cluster mode: the cluster's name in the servers' remote_servers (see the store README, "Cluster mode") */
  cluster: identifier.optional(),
  /** cluster mode: each node's HTTP URL, where retention's mutations go (unset: the cluster's hosts with the port of `url`); see the store README */
  clusterNodes: z.array(NodeUrlSchema).min(1).optional(),
  /** LowCardinality in tables created from now on: unset = where the server has it as a stable type (19.0+); see the store README */
  lowCardinality: z.boolean().optional(),
}).refine((c) => c.clusterNodes === undefined || c.cluster !== undefined, { message: 'clusterNodes needs cluster', path: ['clusterNodes'] });

export const StoreConfigSchema = z.discriminatedUnion('engine', [DuckDBStoreSectionSchema, ClickHouseStoreSectionSchema]);
export type StoreConfig = z.output<typeof StoreConfigSchema>;
export type StoreConfigInput = z.input<typeof StoreConfigSchema>;

export interface OpenStoreOptions {
  /** apply pending migrations before returning (writers); readers leave the schema to the writer */
  migrate?: boolean | undefined;
  /** ClickHouse: the client's own messages, as structured lines */
  log?: StoreLogger | undefined;
  /** ClickHouse: the TTL of tables created now on a server with TTL (19.6+) */
  retentionDays?: RetentionDays | undefined;
  /** DuckDB: `memory_limit` when the section gives none (the API's query limits) */
  memoryLimit?: string | undefined;
}

/** The store a section names, typed by its engine. */
export type OpenedStore<C extends StoreConfigInput> = C extends { engine: 'duckdb' } ? DuckDBStore : C extends { engine: 'clickhouse' } ? ClickHouseStore : DuckDBStore | ClickHouseStore;

/**
 * The one way a service opens the flow store from its config: validates the section (errors name
 * the field, never a value), reads the password and TLS files, and migrates when asked.
 */
export async function openStore<C extends StoreConfigInput>(config: C, opts: OpenStoreOptions = {}): Promise<OpenedStore<C>> {
  const r = StoreConfigSchema.safeParse(config, { reportInput: false });
  if (!r.success) {
    throw new Error(`store config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const c = r.data;
  let store: DuckDBStore | ClickHouseStore;
  if (c.engine === 'duckdb') {
    const memoryLimit = c.memoryLimit ?? opts.memoryLimit;
    store = await DuckDBStore.open({ path: c.path, ...(memoryLimit === undefined ? {} : { memoryLimit }) });
  } else {
    store = ClickHouseStore.open(
      {
        url: c.url, database: c.database, username: c.username,
        ...(c.password === undefined ? {} : { password: c.password }),
        ...(c.passwordFile === undefined ? {} : { passwordFile: c.passwordFile }),
        ...(c.tls === undefined ? {} : { tls: c.tls }),
        ...(c.cluster === undefined ? {} : { cluster: c.cluster }),
        ...(c.clusterNodes === undefined ? {} : { clusterNodes: c.clusterNodes }),
        ...(c.lowCardinality === undefined ? {} : { lowCardinality: c.lowCardinality }),
        ...(opts.retentionDays === undefined ? {} : { retentionDays: opts.retentionDays }),
      },
      opts.log ? { log: opts.log } : {},
    );
  }
  if (opts.migrate) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  }
  return store as OpenedStore<C>;
}
