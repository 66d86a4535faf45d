import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { Storage, type Bucket } from '@google-cloud/storage';
import { GoogleAuth, Impersonated } from 'google-auth-library';
import { z } from 'zod';
import type { RandomAccessSource } from '@sightline/parsers';
import type { GcpSourceConfig } from './config.js';
import { cloudCall, toCloudError } from './errors.js';
import { listRange, pollWindow, type ListedObject, type TimeRange, type WindowCursor } from './listing-window.js';
import { countedStream } from './streams.js';
import type { Discovery, ObjectReader, ObjectRef } from './types.js';

/**
 * GCS list polling and reading for one tenant's VPC flow-log sink.
 * Objects are `LOG_ID/YYYY/MM/DD/HH:00:00_HH:59:59_S<n>.json` plus late addendum shards
 * `…_A<n>:<unixtime>.json`, which sort before the S shards already seen: listing-window.ts
 * keeps a cursor that finds them. Reads are pinned to the discovered generation.
 */

const READ_ONLY_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_only';

/** The fields of a service-account key file the client needs; the rest is ignored. */
const ServiceAccountKeySchema = z.object({
  type: z.literal('service_account'),
  client_email: z.email(),
  private_key: z.string().min(1),
  project_id: z.string().optional(),
});

/**
 * A Storage client for the source's credentials:
 * - `service-account-key`: the key JSON, validated without echoing it;
 * - `impersonation`: the collector's own identity (Application Default Credentials) mints
 *   short-lived tokens for the tenant's service account through google-auth-library's
 *   `Impersonated` client (IAM Credentials generateAccessToken; the collector's identity needs
 *   roles/iam.serviceAccountTokenCreator on it), read-only scope;
 * - `emulator`: a custom apiEndpoint, which makes the client skip Google auth (fake-gcs-server).
 */
export function createStorage(c: GcpSourceConfig): Promise<Storage> {
  const endpoint = c.apiEndpoint !== undefined ? { apiEndpoint: c.apiEndpoint } : {};
  switch (c.credentials.type) {
    case 'emulator':
      return Promise.resolve(new Storage({ projectId: c.projectId, ...endpoint }));
    case 'service-account-key': {
      const key = serviceAccountKey(c.projectId, c.credentials.keyJson);
      return Promise.resolve(new Storage({ projectId: c.projectId, credentials: { client_email: key.client_email, private_key: key.private_key }, ...endpoint }));
    }
    case 'impersonation': {
      const cred = c.credentials;
      return new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }).getClient().then((sourceClient) => {
        const authClient = new Impersonated({
          sourceClient,
          targetPrincipal: cred.targetServiceAccount,
          delegates: cred.delegates,
          lifetime: cred.lifetimeSeconds,
          targetScopes: [READ_ONLY_SCOPE],
        });
        return new Storage({ projectId: c.projectId, authClient, ...endpoint });
      });
    }
  }
}

/** Validates the key JSON; throws (synchronously, naming the field, never the value) when it is not a service-account key. */
function serviceAccountKey(projectId: string, keyJson: string): z.infer<typeof ServiceAccountKeySchema> {
  let json: unknown;
  try {
    json = JSON.parse(keyJson);
  } catch {
    throw new Error(`gcp ${projectId}: credentials.keyJson is not JSON`);
  }
  const key = ServiceAccountKeySchema.safeParse(json);
  if (!key.success) throw new Error(`gcp ${projectId}: credentials.keyJson is not a service-account key: ${key.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return key.data;
}

export const isGcsFlowLogName = (key: string): boolean => /\.json(?:\.gz)?$/.test(key);

/** The hour a shard covers (`…/YYYY/MM/DD/HH:00:00_HH:59:59_…`), as ms. */
export function gcsNameTime(key: string): number | undefined {
  const m = /(?:^|\/)(\d{4})\/(\d{2})\/(\d{2})\/(\d{2}):00:00_[^/]*$/.exec(key);
  return m === null ? undefined : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
}

export interface GcsDiscoveryOptions {
  now?: () => number;
}

export class GcsDiscovery implements Discovery<WindowCursor> {
  private readonly bucket: Promise<Bucket>;
  /** `storage` may still be resolving (impersonation fetches the source identity first) */
  constructor(storage: Storage | Promise<Storage>, private readonly c: GcpSourceConfig, private readonly opts: GcsDiscoveryOptions = {}) {
    this.bucket = Promise.resolve(storage).then((s) => s.bucket(c.bucket));
    this.bucket.catch(() => undefined); // surfaced by the first poll, not as an unhandled rejection
  }

  async *poll(cursor: WindowCursor | undefined, signal?: AbortSignal): AsyncIterable<{ ref: ObjectRef; cursor: WindowCursor }> {
    const found = pollWindow(cursor, {
      base: this.c.prefix,
      layout: 'plain',
      lookbackHours: this.c.lookbackHours,
      skewSeconds: this.c.skewSeconds,
      accept: isGcsFlowLogName,
      list: (prefix) => this.list(prefix, signal),
      ...(this.opts.now !== undefined ? { now: this.opts.now } : {}),
    }, signal);
    for await (const { obj, cursor: next } of found) yield { ref: this.toRef(obj), cursor: next };
  }

  /** Backfill: every shard of a time range (by the day folders and the hour in the name), whatever the look-back window. */
  async *range(r: TimeRange, signal?: AbortSignal): AsyncIterable<ObjectRef> {
    const found = listRange(r, { base: this.c.prefix, layout: 'plain', accept: isGcsFlowLogName, timeOf: gcsNameTime, list: (prefix) => this.list(prefix, signal) }, signal);
    for await (const obj of found) yield this.toRef(obj);
  }

  private toRef(obj: ListedObject): ObjectRef {
    return {
      cloud: 'gcp', tenant: this.c.tenant, account: this.c.projectId, bucket: this.c.bucket, key: obj.key,
      version: obj.version, size: obj.size, lastModified: new Date(obj.lastModified).toISOString(),
    };
  }

  private async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ListedObject> {
    const bucket = await this.bucket;
    let pageToken: string | undefined;
    do {
      signal?.throwIfAborted();
      const [files, next] = await cloudCall('gcp', `list gs://${this.c.bucket}/${prefix}`, () =>
        bucket.getFiles({ prefix, autoPaginate: false, maxResults: 1000, ...(pageToken !== undefined ? { pageToken } : {}) }),
      );
      for (const f of files) {
        const m = f.metadata;
        const created = Date.parse(String(m.timeCreated ?? m.updated ?? ''));
        if (!Number.isFinite(created)) continue;
        yield { key: f.name, size: Number(m.size ?? 0), version: String(m.generation ?? ''), lastModified: created };
      }
      const token = (next as { pageToken?: unknown } | null | undefined)?.pageToken;
      pageToken = typeof token === 'string' && token.length > 0 ? token : undefined;
    } while (pageToken !== undefined);
  }
}

export class GcsReader implements ObjectReader {
  /** bytes received from GCS, for metrics */
  bytesFetched = 0;
  private readonly storage: Promise<Storage>;
  constructor(storage: Storage | Promise<Storage>) {
    this.storage = Promise.resolve(storage);
    this.storage.catch(() => undefined);
  }

  private async file(ref: ObjectRef) {
    const generation = /^\d+$/.test(ref.version) ? Number(ref.version) : undefined;
    return (await this.storage).bucket(ref.bucket).file(ref.key, generation !== undefined ? { generation } : {});
  }

  /** Raw bytes (decompress: false): a gzip-encoded object stays gzip, as the parsers expect, and ranges mean stored bytes. */
  async open(ref: ObjectRef, signal?: AbortSignal): Promise<Readable> {
    const where = `read gs://${ref.bucket}/${ref.key}#${ref.version}`;
    const src = (await this.file(ref)).createReadStream({
      decompress: false,
      validation: false,
      ...(ref.range !== undefined ? { start: ref.range.start, end: ref.range.end - 1 } : {}),
    });
    // teeny-request 11 (node-fetch 3) hangs 11 error/close listeners on each response body, one
    // more than Node's default limit, so every read printed a MaxListenersExceededWarning on stderr
    // (googleapis/google-cloud-node#9185; the fix proposed there lifts the limit on that body).
    // The body is per request and ends with it: lifting its limit hides no leak. 'response' is
    // emitted before teeny-request pipes the body.
    src.once('response', (res: unknown) => { if (res instanceof EventEmitter) res.setMaxListeners(0); });
    const out = countedStream(src, (n) => (this.bytesFetched += n), (err) => toCloudError('gcp', where, err));
    if (signal) {
      const onAbort = () => out.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      // the signal is the source's and lives as long as it: a listener left behind per object read
      // kept every finished stream reachable and piled up on it
      out.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return out;
  }

  async randomAccess(ref: ObjectRef): Promise<RandomAccessSource> {
    const file = await this.file(ref);
    return {
      size: ref.size,
      read: async (offset: number, length: number) => {
        if (length <= 0) return new Uint8Array(0);
        const [buf] = await cloudCall('gcp', `read gs://${ref.bucket}/${ref.key} bytes ${offset}+${length}`, () =>
          file.download({ start: offset, end: offset + length - 1, decompress: false, validation: false }),
        );
        this.bytesFetched += buf.length;
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      },
    };
  }
}

/**
 * Everything the collector needs for one GCP project's sink. Synchronous so a source can be built
 * with the others; a bad key is refused here, while impersonation resolves its source identity in
 * the background and reports a failure at the first poll or read.
 */
export function gcsSource(c: GcpSourceConfig, opts: GcsDiscoveryOptions = {}): { storage: Promise<Storage>; discovery: GcsDiscovery; reader: GcsReader } {
  const storage = createStorage(c);
  storage.catch(() => undefined);
  return { storage, discovery: new GcsDiscovery(storage, c, opts), reader: new GcsReader(storage) };
}
