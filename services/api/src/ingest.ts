import { z } from 'zod';
import { EnvelopeSchema, envelopeRecords, type Envelope, type KeyedRecord } from '@sightline/kube-model';
import { bearer, type ClusterIdentity, type TokenIndex } from './tokens.js';
import type { ApiMetrics } from './metrics.js';
import type { Logger } from './log.js';

/** Where accepted records go: the compacted kube-meta topic (ingest-kafka.ts). Resolves once durable. */
export interface Publisher {
  publish(id: ClusterIdentity, records: readonly KeyedRecord[]): Promise<void>;
}

export interface IngestRequest {
  /** tenant named by the URL */
  tenant: string;
  authorization: string | undefined;
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

/**
 * One kubetags request. The checks run in an order that tells an unauthenticated caller
 * nothing: the token first (401), then whether it may write to the tenant in the URL (403),
 * then the payload (400, with the reason), then whether the payload's cluster is the token's
 * (403). Only then are records written; a Kafka failure is a 503 the agent retries.
 */
export async function handleIngest(deps: IngestDeps, req: IngestRequest): Promise<IngestResponse> {
  const token = bearer(req.authorization);
  const id = token === null ? null : deps.tokens.lookup(token);
  if (id === null) return reject(deps, 401, 'unauthenticated', token === null ? 'missing or malformed bearer token' : 'unknown token');
  if (id.tenant !== req.tenant) {
    deps.log.warn({ tenant: id.tenant, cluster: id.cluster, urlTenant: req.tenant }, 'ingest: token used for another tenant');
    return reject(deps, 403, 'wrong-tenant', `this token belongs to another tenant than ${req.tenant}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    return reject(deps, 400, 'bad-json', `body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) return reject(deps, 400, 'bad-envelope', describe(parsed.error));
  const env: Envelope = parsed.data;
  if (env.cluster !== id.cluster) {
    deps.log.warn({ tenant: id.tenant, cluster: id.cluster, payloadCluster: env.cluster }, 'ingest: token used for another cluster');
    return reject(deps, 403, 'wrong-cluster', `this token belongs to another cluster than ${env.cluster}`);
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
