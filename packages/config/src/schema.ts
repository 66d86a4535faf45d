import { z } from 'zod';
import { CloudName, ClusterName, TenantName } from '@sightline/kube-model';

/**
 * The backend's one configuration file: the sections every service shares (`kafka`, `store`,
 * `tenants` with their sources, clusters and tokens) written once, and a section per service for
 * what only that service reads. Each service maps the whole to the configuration it always took
 * (`collectorInput`, `enricherInput`, `apiInput` in map.ts) and validates it with its own schema,
 * so one file cannot say two things: a tenant, a cluster or the topic prefix exists in one place.
 *
 * The shared sections are checked here; the Kafka and store sections' own fields (TLS, SASL,
 * engines) by the services' schemas, which own them.
 */

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 of the token, 64 lower-case hex digits');

/** One cluster of a tenant: its kubetags token, and the scopes its nodes cannot tell. */
export const ClusterEntry = z.strictObject({
  /** the cloud the cluster runs in (attribution scopes); absent: any */
  cloud: CloudName.optional(),
  /** cloud accounts (AWS account ids, GCP projects, Azure subscriptions) whose flows may be this cluster's */
  accounts: z.array(z.string().min(1)).default([]),
  /** networks (VPC ids, VNet names) whose flows may be this cluster's */
  networks: z.array(z.string().min(1)).default([]),
  /** sha256 of the kubetags agent's token for this cluster (`sightline token hash`); absent: the cluster cannot ingest */
  tokenSha256: Sha256.optional(),
});

/** A read token of a tenant (query API and console): reads every cluster of its tenant, never ingests. */
export const ReaderEntry = z.strictObject({
  /** who holds it (a dashboard, a team), for the logs */
  name: z.string().min(1).max(128),
  tokenSha256: Sha256,
});

/** A source is the collector's (object-store's schema); here only its cloud, the rest is checked by the collector. */
const SourceEntry = z.looseObject({ cloud: CloudName });

const Days = z.number().int().min(1).max(36_500);

export const TenantEntry = z.strictObject({
  /** the tenant's flow log sources (one cloud account and bucket or container each); `tenant` is implied */
  sources: z.array(SourceEntry).default([]),
  /** its Kubernetes clusters, by name */
  clusters: z.record(ClusterName, ClusterEntry).default({}),
  /** its read tokens */
  readers: z.array(ReaderEntry).default([]),
  /** days kept per table for this tenant (absent: the enricher's `retention.days`) */
  retention: z.strictObject({ flows: Days.optional(), '1m': Days.optional(), '5m': Days.optional(), '1h': Days.optional() }).optional(),
});

/** A service's own section: its own schema checks it (the service that reads it, and `sightline config check`). */
const ServiceSection = z.record(z.string(), z.unknown());

/** What a service section may not set again: it is shared, said once at the top. */
export const SHARED_KAFKA_KEYS = ['brokers', 'topicPrefix', 'ssl', 'sasl'] as const;

export const BackendConfigSchema = z
  .strictObject({
    /** the format of this file; a future change of it gets a new number and a migration */
    version: z.literal(1),
    /** Kafka, for every service: `brokers`, `topicPrefix`, and TLS/SASL (see the README) */
    kafka: z.looseObject({
      brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port')).min(1),
      /** prefix of every topic name; the same for every service by construction */
      topicPrefix: z.string().regex(/^[a-zA-Z0-9._-]*$/).default('sightline.'),
    }),
    /** the flow store the enricher writes and the API reads: `engine: duckdb | clickhouse` and its connection */
    store: z.looseObject({ engine: z.enum(['duckdb', 'clickhouse']) }),
    /** tenants by name: their sources, clusters and read tokens */
    tenants: z.record(TenantName, TenantEntry),
    collector: ServiceSection.default({}),
    enricher: ServiceSection.default({}),
    api: ServiceSection.default({}),
  })
  .superRefine((c, ctx) => {
    // One hash, one use: an ingest token that could read (or a token shared by two tenants) would turn one leak into another tenant's data.
    const seen = new Map<string, string>();
    const claim = (hash: string | undefined, path: (string | number)[]) => {
      if (hash === undefined) return;
      const here = formatPath(path);
      const prev = seen.get(hash);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path, message: `same token hash as ${prev}: every cluster and reader has its own token` });
      else seen.set(hash, here);
    };
    for (const [tenant, t] of Object.entries(c.tenants)) {
      for (const [cluster, cl] of Object.entries(t.clusters)) claim(cl.tokenSha256, ['tenants', tenant, 'clusters', cluster, 'tokenSha256']);
      t.readers.forEach((r, i) => claim(r.tokenSha256, ['tenants', tenant, 'readers', i, 'tokenSha256']));
      t.sources.forEach((s, i) => {
        const named = s['tenant'];
        if (named !== undefined && named !== tenant) {
          ctx.addIssue({ code: 'custom', path: ['tenants', tenant, 'sources', i, 'tenant'], message: `says tenant "${String(named)}" but is listed under tenants.${tenant}: drop the field (the tenant is the key)` });
        }
      });
    }
    for (const svc of ['collector', 'enricher', 'api'] as const) {
      const k = c[svc]['kafka'];
      if (k === null || typeof k !== 'object') continue;
      for (const key of SHARED_KAFKA_KEYS) {
        if (key in k) ctx.addIssue({ code: 'custom', path: [svc, 'kafka', key], message: `is shared: set it once in kafka.${key}, which every service reads` });
      }
    }
    // the api reads the same store and takes no password inline (a config file is no place for it)
    if ('password' in c.store) ctx.addIssue({ code: 'custom', path: ['store', 'password'], message: 'give passwordFile (a file holding the password, e.g. a mounted Secret): the api reads this store too and takes no inline password' });
    if ('store' in c.enricher) ctx.addIssue({ code: 'custom', path: ['enricher', 'store'], message: 'is shared: set it once in store, which the enricher writes and the api reads' });
    if ('tokensFile' in c.api) ctx.addIssue({ code: 'custom', path: ['api', 'tokensFile'], message: 'tokens are in tenants.<tenant>.clusters.<cluster>.tokenSha256 and tenants.<tenant>.readers' });
  });
export type BackendConfig = z.infer<typeof BackendConfigSchema>;
export type BackendConfigInput = z.input<typeof BackendConfigSchema>;

/** `tenants.acme.sources[0].bucket`: the way the errors and the docs write a place in the file. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out || '(root)';
}
