import { z } from 'zod';
import { IngestEnvelopeSchema, envelopeRecords, type Envelope, type KeyedRecord } from '@sightline/kube-model';
import { bearer, type ClusterIdentity, type TokenIndex } from './tokens.js';
import type { ApiMetrics } from './metrics.js';
import type { Logger } from './log.js';

/** Where accepted records go: the compacted kube-meta topic (ingest-kafka.ts). Resolves once durable. */
export interface Publisher {
  publish(id: ClusterIdentity, records: readonly KeyedRecord[]): Promise<void>;
}

export interface IngestRequest {
  /** the cluster the request's token belongs to, checked against the URL's tenant (authenticateIngest) */
  identity: ClusterIdentity;
  /** the body, decompressed */
  body: Buffer;
}

export interface IngestResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface IngestDeps {
  tokens: TokenIndex;
  publisher: Publisher;
  metrics: ApiMetrics;
  log: Logger;
}

/** The sanity rules of an envelope beyond its shape; `IngestChecks.defaults()` gives the config's defaults. */
export interface IngestChecks {
  /** sentAt may be this far ahead of `now` */
  maxFutureSkewMs: number;
  /** and this far behind it */
  maxPastSkewMs: number;
  epochs: LastEpochs;
  now: () => number;
}

export const IngestChecks = {
  defaults: (): IngestChecks => ({ maxFutureSkewMs: 10 * 60_000, maxPastSkewMs: 24 * 3_600_000, epochs: new LastEpochs(), now: Date.now }),
};

/**
 * The last snapshot epoch seen per tenant and cluster, in this process: an envelope with an
 * older epoch comes from an agent that went back in time (or a replay), and its records would be
 * taken as stale by the consumer's snapshot rule. Bounded by the cluster tokens (only
 * authenticated clusters get an entry). Empty after a restart: the first envelope of each
 * cluster sets the floor again.
 */
export class LastEpochs {
  private readonly last = new Map<string, number>();

  /** The epoch it goes back from, or null when `epoch` is not older (it becomes the last one). */
  admit(id: ClusterIdentity, epoch: number): number | null {
    const key = `${id.tenant}/${id.cluster}`;
    const prev = this.last.get(key);
    if (prev !== undefined && epoch < prev) return prev;
    this.last.set(key, epoch);
    return null;
  }
}

export type IngestAuth = { ok: true; identity: ClusterIdentity } | { ok: false; status: 401 | 403; reason: 'missing-token' | 'unknown-token' | 'wrong-tenant'; response: IngestResponse };

/**
 * Who is asking, from the `Authorization` header alone, before any byte of the body is read:
 * the token first (401), then whether it may write to the tenant in the URL (403). An
 * unauthenticated caller learns nothing about payload validation and costs no inflate.
 */
export function authenticateIngest(deps: IngestDeps, tenant: string, authorization: string | undefined): IngestAuth {
  const token = bearer(authorization);
  const id = token === null ? null : deps.tokens.lookup(token);
  if (id === null) {
    const missing = token === null;
    return { ok: false, status: 401, reason: missing ? 'missing-token' : 'unknown-token', response: reject(deps, 401, 'unauthenticated', missing ? 'missing or malformed bearer token' : 'unknown token') };
  }
  if (id.tenant !== tenant) {
    deps.log.warn({ tenant: id.tenant, cluster: id.cluster, urlTenant: tenant }, 'ingest: token used for another tenant');
    return { ok: false, status: 403, reason: 'wrong-tenant', response: reject(deps, 403, 'wrong-tenant', `this token belongs to another tenant than ${tenant}`) };
  }
  return { ok: true, identity: id };
}

/**
 * One authenticated kubetags request: the payload (400, with the field at fault), whether its
 * cluster is the token's (403), its times and epoch (400). Only then are records written; a
 * Kafka failure is a 503 the agent retries.
 */
export async function handleIngest(deps: IngestDeps, req: IngestRequest, checks: IngestChecks = IngestChecks.defaults()): Promise<IngestResponse> {
  const id = req.identity;
  let json: unknown;
  try {
    json = JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    return reject(deps, 400, 'bad-json', `body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = IngestEnvelopeSchema.safeParse(json);
  if (!parsed.success) return reject(deps, 400, 'bad-envelope', describe(parsed.error));
  const env: Envelope = parsed.data;
  if (env.cluster !== id.cluster) {
    deps.log.warn({ tenant: id.tenant, cluster: id.cluster, payloadCluster: env.cluster }, 'ingest: token used for another cluster');
    return reject(deps, 403, 'wrong-cluster', `this token belongs to another cluster than ${env.cluster}`);
  }
  const now = checks.now();
  const sent = Date.parse(env.sentAt);
  if (sent > now + checks.maxFutureSkewMs) {
    return reject(deps, 400, 'sent-at', `sentAt: ${env.sentAt} is more than ${checks.maxFutureSkewMs / 1000} s ahead of the server's clock (${new Date(now).toISOString()}); check the agent's clock`);
  }
  if (sent < now - checks.maxPastSkewMs) {
    return reject(deps, 400, 'sent-at', `sentAt: ${env.sentAt} is more than ${checks.maxPastSkewMs / 1000} s behind the server's clock (${new Date(now).toISOString()}); stale envelopes are refused, the agent's next snapshot repairs the state`);
  }
  const epoch = env.epoch ?? 0;
  const from = checks.epochs.admit(id, epoch);
  if (from !== null) {
    deps.log.warn({ tenant: id.tenant, cluster: id.cluster, epoch, last: from }, 'ingest: snapshot epoch went backwards');
    return reject(deps, 400, 'epoch', `epoch: ${epoch} is older than the epoch ${from} this cluster already sent; an epoch never goes backwards`);
  }
  const records = envelopeRecords(id.tenant, env);
  try {
    await deps.publisher.publish(id, records);
  } catch (err) {
    deps.log.error({ tenant: id.tenant, cluster: id.cluster, err: err instanceof Error ? err.message : String(err) }, 'ingest: kafka write failed');
    return reject(deps, 503, 'kafka', 'metadata could not be stored now; retry');
  }
  const kind = env.full ? 'snapshot' : 'delta';
  deps.metrics.objects.inc({ tenant: id.tenant, cluster: id.cluster, envelope: kind }, env.upserts.length + env.deletes.length);
  deps.metrics.records.inc({ tenant: id.tenant, cluster: id.cluster }, records.length);
  const completes = env.full && (env.part === undefined || env.part.last);
  if (completes) deps.metrics.snapshots.inc({ tenant: id.tenant, cluster: id.cluster });
  deps.metrics.requests.inc({ status: '200' });
  deps.log.debug({ tenant: id.tenant, cluster: id.cluster, kind, upserts: env.upserts.length, deletes: env.deletes.length, epoch: env.epoch }, 'ingest: accepted');
  return { status: 200, body: { accepted: { upserts: env.upserts.length, deletes: env.deletes.length }, records: records.length, snapshotComplete: completes } };
}

function reject(deps: IngestDeps, status: number, reason: string, message: string): IngestResponse {
  deps.metrics.requests.inc({ status: String(status) });
  deps.metrics.rejected.inc({ reason });
  return { status, body: { error: reason, message } };
}

/** The first issues, each with its JSON path, e.g. `upserts.3.object.podIPs: expected array`. */
function describe(err: z.ZodError): string {
  const shown = err.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  const more = err.issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}
