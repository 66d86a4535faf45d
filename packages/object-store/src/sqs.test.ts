import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import { fixturePath } from '@sightline/testkit';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { s3FlowLogBase } from './s3.js';
import { SqsNotification, sqsNotifications, sqsSource, createSqsClient, type SqsIssue } from './sqs.js';
import { s3Source } from './s3.js';
import { staticCredentials } from './sts.js';
import type { Notification } from './types.js';
import { ACCOUNT, REGION, awsConfig, dummyKeys, put, skipInfra as skip, uniqueName, withBucket } from './testing/moto.js';

const sample = fixturePath('parsers', 'aws/default-v2.log.gz');

/** Receives until `n` notifications naming objects arrived; S3's test event (no refs) is acked on the way. */
async function receiveObjects(src: { receive(m: number, w: number): Promise<Notification[]> }, n: number, tries = 10): Promise<SqsNotification[]> {
  const got: SqsNotification[] = [];
  for (let i = 0; i < tries && got.length < n; i++) {
    for (const note of await src.receive(10, 1)) {
      assert.ok(note instanceof SqsNotification);
      if (note.refs.length === 0) await note.ack();
      else got.push(note);
    }
  }
  return got;
}

test('SQS: S3 notifications become refs; extend keeps a message away, an un-acked one comes back, ack deletes', { skip }, async () => {
  await withBucket(async (bucket, admin) => {
    const c0 = awsConfig(bucket);
    const sqs = createSqsClient(c0, staticCredentials(dummyKeys));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('q'), Attributes: { VisibilityTimeout: '2' } }));
    assert.ok(QueueUrl);
    try {
      const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
      await admin.send(new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:*'] }] },
      }));
      const issues: SqsIssue[] = [];
      const c = awsConfig(bucket, { sqsQueueUrl: QueueUrl });
      const src = sqsNotifications(c, s3Source(c), { onIssue: (i) => issues.push(i) });

      const base = `${s3FlowLogBase(c)}2026/04/16/`;
      const keyA = `${base}${ACCOUNT}_vpcflowlogs_${REGION}_fl-0aaa_20260416T1000Z_aaaa0001.log.gz`;
      const keyB = `${base}${ACCOUNT}_vpcflowlogs_${REGION}_fl-0aaa_20260416T1005Z_aaaa 0002.log.gz`; // a space: URL-encoded as + in the event
      const body = await readFile(sample);
      await put(admin, bucket, keyA, body);
      await put(admin, bucket, keyB, body);
      await put(admin, bucket, 'elsewhere/readme.txt', 'x'); // announced too, names no flow log
      // Not an S3 event at all: reported, not returned, left for the redrive policy.
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"hello":"world"}' }));

      const notes = await receiveObjects(src, 2);
      assert.deepEqual(notes.map((n) => n.refs.map((r) => [r.key, r.size, r.version.length > 0])).flat().sort(), [
        [keyA, body.length, true],
        [keyB, body.length, true],
      ]);
      assert.ok(issues.some((i) => /not an S3 event/.test(i.message)), JSON.stringify(issues));
      const a = notes.find((n) => n.refs[0]!.key === keyA)!;
      const b = notes.find((n) => n.refs[0]!.key === keyB)!;

      // a is being processed: its visibility is extended well past the queue's 2 s. b is not.
      await a.extend(30);
      await sleep(3500);
      const back = await receiveObjects(src, 1, 3);
      assert.deepEqual(back.map((n) => n.refs[0]!.key), [keyB], 'only the un-extended, un-acked message came back');
      assert.ok(back[0]!.receiveCount >= 2, 'and SQS counts the redelivery');

      // Both acked after "Kafka acknowledged": neither comes back once their visibility would have run out.
      await a.ack();
      await back[0]!.ack();
      await sleep(2500);
      const after = (await src.receive(10, 1)).filter((n) => n.refs.length > 0);
      assert.deepEqual(after, []);
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
    }
  });
});

test('SQS message bodies: SNS envelope, S3 test event, other buckets and prefixes', () => {
  const c = awsConfig('acme-flow-logs', { sqsQueueUrl: 'http://127.0.0.1:5000/123456789012/q' });
  const src = sqsSource(c)!;
  const key = `${s3FlowLogBase(c)}2026/04/16/${ACCOUNT}_vpcflowlogs_${REGION}_fl-1_20260416T1000Z_h.log.parquet`;
  const event = (bucket: string, k: string) => JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(k).replace(/%2F/g, '/'), size: 7, eTag: 'abc' } } }] });
  const viaSns = src.refsOf(JSON.stringify({ Type: 'Notification', Message: event('acme-flow-logs', key) }));
  assert.ok(Array.isArray(viaSns));
  assert.deepEqual(viaSns.map((r) => [r.key, r.size, r.version]), [[key, 7, 'abc']]);
  assert.deepEqual(src.refsOf('{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"acme-flow-logs"}'), []);
  assert.deepEqual(src.refsOf(event('other-bucket', key)), []);
  assert.deepEqual(src.refsOf(event('acme-flow-logs', 'AWSLogs/999999999999/vpcflowlogs/us-east-1/x.log.gz')), []);
  assert.match(String(src.refsOf('not json')), /body is not JSON/);
});
