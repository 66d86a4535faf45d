import { type BackendConfig, formatPath } from './schema.js';

/**
 * From the one file to the configuration each service always took: the service validates the
 * result with its own schema (strict, defaults) and names a bad field by its place in the one file
 * (`where`), never by the place it has in the per-service shape.
 */
export interface ServiceInput {
  /** the service's own configuration shape, to be parsed by its schema */
  input: Record<string, unknown>;
  /** a path of that shape (from a zod issue) back to the path of the one file */
  where(path: readonly PropertyKey[]): string;
}

type Path = readonly PropertyKey[];
type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

/** Removes `keys` from a shallow copy. */
function omit(o: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/** `kafka` as a service sees it: the shared section, then the service's own Kafka knobs (group, partitions). */
function kafkaFor(c: BackendConfig, section: Obj): Obj {
  return { ...c.kafka, ...obj(section['kafka']) };
}

/**
 * A path under the service's `kafka` back to the one file: a key the service's own section sets
 * is `<svc>.kafka.x`, any other the shared top `kafka.x`.
 */
function kafkaWhere(svc: string, section: Obj, rest: Path): string {
  return formatPath(Object.hasOwn(obj(section['kafka']), String(rest[0])) ? [svc, 'kafka', ...rest] : ['kafka', ...rest]);
}

/** The collector: shared Kafka, its section (knobs at the top, `kafka`, `startup`, `http`), every tenant's sources. */
export function collectorInput(c: BackendConfig): ServiceInput {
  const sec = obj(c.collector);
  const sources: Obj[] = [];
  const origin: [string, number][] = [];
  for (const [tenant, t] of Object.entries(c.tenants)) {
    t.sources.forEach((s, i) => {
      sources.push({ ...s, tenant });
      origin.push([tenant, i]);
    });
  }
  const input: Obj = { kafka: kafkaFor(c, sec), collector: omit(sec, ['kafka', 'startup', 'http']), sources };
  if ('startup' in sec) input['startup'] = sec['startup'];
  if ('http' in sec) input['http'] = sec['http'];
  return {
    input,
    where(path) {
      const [head, ...rest] = path;
      if (head === 'sources' && typeof rest[0] === 'number') {
        const o = origin[rest[0]];
        if (o) return formatPath(['tenants', o[0], 'sources', o[1], ...rest.slice(1)]);
        return formatPath(['tenants']);
      }
      if (head === 'kafka') return kafkaWhere('collector', sec, rest);
      if (head === 'collector') return formatPath(['collector', ...rest]);
      return formatPath(['collector', ...path]);
    },
  };
}

/** The enricher: shared Kafka and store, its section, the clusters and retention days of every tenant. */
export function enricherInput(c: BackendConfig): ServiceInput {
  const sec = obj(c.enricher);
  const clusters: Obj[] = [];
  const origin: [string, string][] = [];
  const retentionTenants: Obj = {};
  for (const [tenant, t] of Object.entries(c.tenants)) {
    for (const [cluster, cl] of Object.entries(t.clusters)) {
      const entry: Obj = { tenant, cluster, accounts: cl.accounts, networks: cl.networks };
      if (cl.cloud !== undefined) entry['cloud'] = cl.cloud;
      clusters.push(entry);
      origin.push([tenant, cluster]);
    }
    if (t.retention !== undefined) retentionTenants[tenant] = t.retention;
  }
  const retention = obj(sec['retention']);
  const input: Obj = {
    kafka: kafkaFor(c, sec),
    // `connections` is the api's (its DuckDB read connections)
    store: omit(c.store, ['connections']),
    enricher: { ...omit(sec, ['kafka', 'http', 'retention']), clusters },
    retention: Object.keys(retentionTenants).length > 0 ? { ...retention, tenants: retentionTenants } : retention,
  };
  if ('http' in sec) input['http'] = sec['http'];
  return {
    input,
    where(path) {
      const [head, ...rest] = path;
      if (head === 'enricher' && rest[0] === 'clusters' && typeof rest[1] === 'number') {
        const o = origin[rest[1]];
        return o ? formatPath(['tenants', o[0], 'clusters', o[1], ...rest.slice(2)]) : 'tenants';
      }
      if (head === 'retention' && rest[0] === 'tenants' && typeof rest[1] === 'string') return formatPath(['tenants', rest[1], 'retention', ...rest.slice(2)]);
      if (head === 'store') return formatPath(path);
      if (head === 'kafka') return kafkaWhere('enricher', sec, rest);
      if (head === 'enricher') return formatPath(path);
      return formatPath(['enricher', ...path]);
    },
  };
}

/** The tokens the api checks: every cluster's ingest token and every reader, by tenant. */
export function tokensOf(c: BackendConfig): { clusters: { tokenSha256: string; tenant: string; cluster: string }[]; readers: { tokenSha256: string; tenant: string; name: string }[] } {
  const clusters: { tokenSha256: string; tenant: string; cluster: string }[] = [];
  const readers: { tokenSha256: string; tenant: string; name: string }[] = [];
  for (const [tenant, t] of Object.entries(c.tenants)) {
    for (const [cluster, cl] of Object.entries(t.clusters)) if (cl.tokenSha256 !== undefined) clusters.push({ tokenSha256: cl.tokenSha256, tenant, cluster });
    for (const r of t.readers) readers.push({ tokenSha256: r.tokenSha256, tenant, name: r.name });
  }
  return { clusters, readers };
}

/**
 * The api: its section (listen, metrics, auth, tls, ingest, query limits), shared Kafka, the shared
 * store for its queries (unless `api.query` is false: an ingest-only api), and the tokens inline.
 */
export function apiInput(c: BackendConfig): ServiceInput {
  const sec = obj(c.api);
  const input: Obj = { ...omit(sec, ['kafka', 'query']), kafka: kafkaFor(c, sec), tokens: tokensOf(c) };
  if (sec['query'] !== false) {
    // `lowCardinality` is the enricher's (table creation); the api only reads
    input['query'] = { ...obj(sec['query']), store: omit(c.store, ['lowCardinality']) };
  }
  return {
    input,
    where(path) {
      const [head, ...rest] = path;
      if (head === 'query' && rest[0] === 'store') return formatPath(['store', ...rest.slice(1)]);
      if (head === 'kafka') return kafkaWhere('api', sec, rest);
      if (head === 'tokens') return 'tenants (tokens)';
      return formatPath(['api', ...path]);
    },
  };
}
