import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { RandomAccessSource } from '@sightline/parsers';
import type { AwsSourceConfig } from './config.js';
import { cloudCall, toCloudError } from './errors.js';
import { countedStream } from './streams.js';
import { listRange, pollWindow, type ListedObject, type TimeRange, type WindowCursor } from './listing-window.js';
import { awsCredentialsFor, type AwsCredentialProvider } from './sts.js';
import type { Discovery, ObjectReader, ObjectRef } from './types.js';

/**
 * S3 list polling and reading for one tenant's flow-log prefix.
 * Discovery lists `[prefix]AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/` (or the Hive
 * layout) with the late-object-safe cursor of listing-window.ts; the reader streams an object
 * (or a range of it) pinned to the ETag it was discovered with.
 */

export function createS3Client(c: Pick<AwsSourceConfig, 'region' | 'endpoint'>, credentials: AwsCredentialProvider | undefined): S3Client {
  return new S3Client({
    region: c.region,
    ...(credentials !== undefined ? { credentials } : {}),
    ...(c.endpoint !== undefined
      ? { endpoint: c.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
      : {}),
  });
}

/** Where VPC flow logs of this account and region are delivered. */
export function s3FlowLogBase(c: Pick<AwsSourceConfig, 'prefix' | 'layout' | 'accountId' | 'region'>): string {
  return c.layout === 'hive'
    ? `${c.prefix}AWSLogs/aws-account-id=${c.accountId}/aws-service=vpcflowlogs/aws-region=${c.region}/`
    : `${c.prefix}AWSLogs/${c.accountId}/vpcflowlogs/${c.region}/`;
}

const FLOW_LOG_NAME = /vpcflowlogs_[^/]*\.(?:log\.gz|log|parquet|gz\.parquet)$/;
export const isS3FlowLogKey = (key: string): boolean => FLOW_LOG_NAME.test(key);
/** The `YYYYMMDDTHHmmZ` stamp of a flow-log file name (the start of what it covers), as ms. */
export function s3NameTime(key: string): number | undefined {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[^/]*$/.exec(key);
  return m === null ? undefined : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
}
const unquote = (etag: string | undefined) => (etag ?? '').replace(/^"|"$/g, '');

export interface S3DiscoveryOptions {
  now?: () => number;
}

export class S3Discovery implements Discovery<WindowCursor> {
  readonly base: string;
  constructor(
    private readonly s3: S3Client,
    private readonly c: AwsSourceConfig,
    private readonly opts: S3DiscoveryOptions = {},
  ) {
    this.base = s3FlowLogBase(c);
  }

  async *poll(cursor: WindowCursor | undefined, signal?: AbortSignal): AsyncIterable<{ ref: ObjectRef; cursor: WindowCursor }> {
    const found = pollWindow(cursor, {
      base: this.base,
      layout: this.c.layout,
      lookbackHours: this.c.lookbackHours,
      skewSeconds: this.c.skewSeconds,
      accept: isS3FlowLogKey,
      list: (prefix, sig) => this.list(prefix, sig),
      ...(this.opts.now !== undefined ? { now: this.opts.now } : {}),
    }, signal);
    for await (const { obj, cursor: next } of found) {
      yield { ref: this.toRef(obj), cursor: next };
    }
  }

  /**
   * Backfill: every flow-log object of a time range (by the day folders and the time in the name),
   * whatever the look-back window; the refs are the ones polling makes, so the batch ids are too.
   */
  async *range(r: TimeRange, signal?: AbortSignal): AsyncIterable<ObjectRef> {
    const found = listRange(r, { base: this.base, layout: this.c.layout, accept: isS3FlowLogKey, timeOf: s3NameTime, list: (prefix, sig) => this.list(prefix, sig) }, signal);
    for await (const obj of found) yield this.toRef(obj);
  }

  toRef(obj: ListedObject): ObjectRef {
    return {
      cloud: 'aws',
      tenant: this.c.tenant,
      account: this.c.accountId,
      bucket: this.c.bucket,
      key: obj.key,
      version: obj.version,
      size: obj.size,
      lastModified: new Date(obj.lastModified).toISOString(),
    };
  }

  private async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      const page = await cloudCall('aws', `ListObjectsV2 s3://${this.c.bucket}/${prefix}`, () =>
        this.s3.send(new ListObjectsV2Command({ Bucket: this.c.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || o.LastModified === undefined) continue;
        yield { key: o.Key, size: o.Size ?? 0, version: unquote(o.ETag), lastModified: o.LastModified.getTime() };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

/** Reads S3 objects; every read is pinned to the discovered ETag (If-Match), so a replaced object fails as `invalid` instead of mixing versions. */
export class S3Reader implements ObjectReader {
  /** bytes received from S3, for metrics */
  bytesFetched = 0;
  constructor(private readonly s3: S3Client) {}

  async open(ref: ObjectRef, signal?: AbortSignal): Promise<Readable> {
    const range = ref.range !== undefined ? `bytes=${ref.range.start}-${ref.range.end - 1}` : undefined;
    const out = await cloudCall('aws', `GetObject s3://${ref.bucket}/${ref.key}`, () =>
      this.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, Range: range, ...(ref.version ? { IfMatch: `"${ref.version}"` } : {}) }), { abortSignal: signal }),
    );
    const body = out.Body as Readable | undefined;
    const where = `GetObject s3://${ref.bucket}/${ref.key}`;
    if (body === undefined) throw new Error(`aws ${where}: response has no body`);
    return countedStream(body, (n) => (this.bytesFetched += n), (err) => toCloudError('aws', where, err));
  }

  async randomAccess(ref: ObjectRef): Promise<RandomAccessSource> {
    const where = `GetObject s3://${ref.bucket}/${ref.key}`;
    return {
      size: ref.size,
      read: async (offset: number, length: number) => {
        if (length <= 0) return new Uint8Array(0);
        const out = await cloudCall('aws', `${where} bytes ${offset}+${length}`, async () => {
          const r = await this.s3.send(new GetObjectCommand({
            Bucket: ref.bucket, Key: ref.key, Range: `bytes=${offset}-${offset + length - 1}`,
            ...(ref.version ? { IfMatch: `"${ref.version}"` } : {}),
          }));
          if (r.Body === undefined) throw new Error('no body');
          return r.Body.transformToByteArray();
        });
        this.bytesFetched += out.length;
        return out;
      },
    };
  }
}

/** Everything the collector needs for one AWS account's S3 source. */
export function s3Source(c: AwsSourceConfig, opts: S3DiscoveryOptions = {}): { client: S3Client; discovery: S3Discovery; reader: S3Reader; credentials: AwsCredentialProvider | undefined } {
  const credentials = awsCredentialsFor(c);
  const client = createS3Client(c, credentials);
  return { client, discovery: new S3Discovery(client, c, opts), reader: new S3Reader(client), credentials };
}
