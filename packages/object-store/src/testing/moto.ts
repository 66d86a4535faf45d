import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { endpoints } from '@sightline/testkit';
import { AwsSourceSchema, type AwsSourceConfig } from '../config.js';
import { createS3Client } from '../s3.js';
import { staticCredentials } from '../sts.js';
import { uniqueName } from './infra.js';

export { skipInfra, uniqueName } from './infra.js';

/**
 * Test helpers for moto (started by `pnpm infra:up moto`). The keys are dummies moto accepts;
 * the secret is distinctive so tests can assert it never shows up in an error.
 */
export const DUMMY_SECRET = 'dummy-secret-never-print-7f3a';
export const dummyKeys = { accessKeyId: 'test', secretAccessKey: DUMMY_SECRET };
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export function awsConfig(bucket: string, extra: Partial<Record<string, unknown>> = {}): AwsSourceConfig {
  return AwsSourceSchema.parse({
    cloud: 'aws', tenant: 'acme', accountId: ACCOUNT, region: REGION, bucket,
    staticCredentials: dummyKeys, endpoint: endpoints().s3Endpoint, ...extra,
  });
}

export const adminS3 = (): S3Client => createS3Client({ region: REGION, endpoint: endpoints().s3Endpoint }, staticCredentials(dummyKeys));

export async function withBucket<T>(fn: (bucket: string, s3: S3Client) => Promise<T>): Promise<T> {
  const s3 = adminS3();
  const bucket = uniqueName('b');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  try {
    return await fn(bucket, s3);
  } finally {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const o of listed.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
  }
}

export const put = (s3: S3Client, bucket: string, key: string, body: Uint8Array | string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
