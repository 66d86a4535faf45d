import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { endpoints } from '@sightline/testkit';

// moto server started by `pnpm infra:up moto`: S3, SQS and STS behind one endpoint. The credentials
// are moto's dummy ones; nothing here is a secret.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

const region = 'us-east-1';
const dummy = { accessKeyId: 'test', secretAccessKey: 'test' };
const s3With = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
  new S3Client({
    region, endpoint: endpoints().s3Endpoint, credentials, forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });

// The part of an S3 event notification the collector relies on (S3 also sends s3:TestEvent bodies,
// which have no Records).
const S3Event = z.object({
  Records: z.array(z.object({
    eventName: z.string(),
    s3: z.object({ bucket: z.object({ name: z.string() }), object: z.object({ key: z.string(), size: z.number() }) }),
  })),
});

test('moto: S3 put/list/get, SQS gets the ObjectCreated notification, STS AssumeRole credentials read S3', { skip }, async () => {
  const s3 = s3With(dummy);
  const sqs = new SQSClient({ region, endpoint: endpoints().s3Endpoint, credentials: dummy });
  const sts = new STSClient({ region, endpoint: endpoints().s3Endpoint, credentials: dummy });
  const name = `sightline-smoke-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const prefix = 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/04/16/';
  const key = `${prefix}123456789012_vpcflowlogs_us-east-1_fl-0abc_20260416T1005Z_hash.log.gz`;
  const body = Buffer.from('version account-id interface-id srcaddr dstaddr\n2 123456789012 eni-1 10.0.0.1 10.0.0.2\n');

  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  assert.ok(QueueUrl);
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  try {
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const queueArn = attrs.Attributes?.QueueArn;
    assert.ok(queueArn);
    await s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: name,
      NotificationConfiguration: {
        QueueConfigurations: [{
          QueueArn: queueArn, Events: ['s3:ObjectCreated:*'],
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'AWSLogs/' }] } },
        }],
      },
    }));

    await s3.send(new PutObjectCommand({ Bucket: name, Key: key, Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'elsewhere/ignored.txt', Body: 'x' }));

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: name, Prefix: prefix }));
    assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size]), [[key, body.length]]);
    const got = await s3.send(new GetObjectCommand({ Bucket: name, Key: key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));

    // Only the object under the filtered prefix is announced.
    const events: z.infer<typeof S3Event>['Records'] = [];
    for (let i = 0; i < 3; i++) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of r.Messages ?? []) {
        const parsed = S3Event.safeParse(JSON.parse(m.Body ?? 'null'));
        if (parsed.success) events.push(...parsed.data.Records);
      }
    }
    assert.deepEqual(events.map((e) => [e.eventName.startsWith('ObjectCreated:'), e.s3.bucket.name, decodeURIComponent(e.s3.object.key), e.s3.object.size]),
      [[true, name, key, body.length]]);

    // Cross-account access as the collector does it: assume the tenant's role with its external id.
    const assumed = await sts.send(new AssumeRoleCommand({
      RoleArn: 'arn:aws:iam::123456789012:role/sightline-flowlog-reader',
      RoleSessionName: 'sightline-smoke', ExternalId: 'tenant-42-external-id', DurationSeconds: 900,
    }));
    const c = assumed.Credentials;
    assert.ok(c?.AccessKeyId && c.SecretAccessKey && c.SessionToken && c.Expiration);
    assert.notEqual(c.AccessKeyId, dummy.accessKeyId);
    assert.ok(c.Expiration.getTime() > Date.now(), 'the session credentials are not expired');
    assert.match(assumed.AssumedRoleUser?.Arn ?? '', /assumed-role\/sightline-flowlog-reader\/sightline-smoke$/);
    const asTenant = s3With({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken });
    const again = await asTenant.send(new GetObjectCommand({ Bucket: name, Key: key }));
    assert.ok(Buffer.from(await again.Body!.transformToByteArray()).equals(body));
  } finally {
    for (const k of [key, 'elsewhere/ignored.txt']) await s3.send(new DeleteObjectCommand({ Bucket: name, Key: k })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: name })).catch(() => undefined);
    await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
  }
});
