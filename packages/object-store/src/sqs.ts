import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { AwsSourceConfig } from './config.js';
import { cloudCall } from './errors.js';
import { isS3FlowLogKey, s3FlowLogBase } from './s3.js';
import { awsCredentialsFor, type AwsCredentialProvider } from './sts.js';
import type { Notification, NotificationSource, ObjectRef } from './types.js';

/**
 * S3 event notifications from SQS, at-least-once: a message stays in the queue until the
 * collector acks it (after Kafka acknowledged every flow of its objects), and its visibility is
 * extended while the objects are processed so no other collector picks it up meanwhile.
 * A message that is not an S3 event is reported and left alone: after the queue's
 * maxReceiveCount its redrive policy moves it to the dead-letter queue, where it can be read.
 */

const S3EventSchema = z.object({
  Records: z.array(z.object({
    eventName: z.string(),
    eventTime: z.string().optional(),
    s3: z.object({
      bucket: z.object({ name: z.string() }),
      object: z.object({ key: z.string(), size: z.number().int().nonnegative().optional(), eTag: z.string().optional(), versionId: z.string().optional() }),
    }),
  })),
});
/** S3 sends one when the notification is configured; it names no object */
const S3TestEventSchema = z.object({ Event: z.literal('s3:TestEvent') });
/** S3 → SNS → SQS fan-out wraps the event */
const SnsEnvelopeSchema = z.object({ Type: z.literal('Notification'), Message: z.string() });

export interface SqsIssue {
  queueUrl: string;
  messageId: string;
  message: string;
}

export interface SqsSourceOptions {
  /** a message that is not an S3 event (left in the queue for its redrive policy) */
  onIssue?: (issue: SqsIssue) => void;
}

/** S3 event keys are URL-encoded with `+` for spaces. */
export const decodeS3EventKey = (key: string): string => decodeURIComponent(key.replace(/\+/g, ' '));

export class SqsNotification implements Notification {
  constructor(
    readonly refs: ObjectRef[],
    readonly messageId: string,
    /** how many times SQS delivered this message (> 1: an earlier attempt did not ack) */
    readonly receiveCount: number,
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly receiptHandle: string,
  ) {}

  async extend(seconds: number): Promise<void> {
    await cloudCall('aws', `ChangeMessageVisibility ${this.queueUrl} message ${this.messageId}`, () =>
      this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: this.receiptHandle, VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))) })),
    );
  }

  async ack(): Promise<void> {
    await cloudCall('aws', `DeleteMessage ${this.queueUrl} message ${this.messageId}`, () =>
      this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: this.receiptHandle })),
    );
  }
}

export function createSqsClient(c: Pick<AwsSourceConfig, 'region' | 'endpoint'>, credentials: AwsCredentialProvider | undefined): SQSClient {
  return new SQSClient({
    region: c.region,
    ...(credentials !== undefined ? { credentials } : {}),
    ...(c.endpoint !== undefined ? { endpoint: c.endpoint } : {}),
  });
}

export class SqsNotificationSource implements NotificationSource {
  private readonly base: string;
  constructor(
    private readonly sqs: SQSClient,
    private readonly c: AwsSourceConfig & { sqsQueueUrl: string },
    private readonly opts: SqsSourceOptions = {},
  ) {
    this.base = s3FlowLogBase(c);
  }

  async receive(maxMessages: number, waitSeconds: number, signal?: AbortSignal): Promise<Notification[]> {
    const queueUrl = this.c.sqsQueueUrl;
    const out = await cloudCall('aws', `ReceiveMessage ${queueUrl}`, () =>
      this.sqs.send(new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, maxMessages)),
        WaitTimeSeconds: Math.max(0, Math.min(20, waitSeconds)),
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }), { abortSignal: signal }),
    );
    const notes: Notification[] = [];
    for (const m of out.Messages ?? []) {
      if (m.ReceiptHandle === undefined) continue;
      const id = m.MessageId ?? '?';
      const refs = this.refsOf(m.Body ?? '');
      if (typeof refs === 'string') {
        this.opts.onIssue?.({ queueUrl, messageId: id, message: refs });
        continue;
      }
      const count = Number(m.Attributes?.ApproximateReceiveCount ?? '1');
      notes.push(new SqsNotification(refs, id, Number.isFinite(count) ? count : 1, this.sqs, queueUrl, m.ReceiptHandle));
    }
    return notes;
  }

  /** The flow-log objects a message names, or why it is not an S3 event. */
  refsOf(body: string): ObjectRef[] | string {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return `body is not JSON (${body.length} bytes)`;
    }
    const sns = SnsEnvelopeSchema.safeParse(json);
    if (sns.success) {
      try {
        json = JSON.parse(sns.data.Message);
      } catch {
        return 'SNS envelope whose Message is not JSON';
      }
    }
    if (S3TestEventSchema.safeParse(json).success) return [];
    const ev = S3EventSchema.safeParse(json);
    if (!ev.success) return `not an S3 event notification: ${ev.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
    const refs: ObjectRef[] = [];
    for (const r of ev.data.Records) {
      if (!r.eventName.startsWith('ObjectCreated:') || r.s3.bucket.name !== this.c.bucket) continue;
      const key = decodeS3EventKey(r.s3.object.key);
      // The bucket may announce other prefixes, accounts or regions to the same queue.
      if (!key.startsWith(this.base) || !isS3FlowLogKey(key)) continue;
      refs.push({
        cloud: 'aws',
        tenant: this.c.tenant,
        account: this.c.accountId,
        bucket: this.c.bucket,
        key,
        version: (r.s3.object.eTag ?? '').replace(/^"|"$/g, ''),
        size: r.s3.object.size ?? 0,
        ...(r.eventTime !== undefined ? { lastModified: r.eventTime } : {}),
      });
    }
    return refs;
  }
}

/** The SQS source of an AWS source config that names a queue, sharing the account's credentials. */
export function sqsSource(c: AwsSourceConfig, opts: SqsSourceOptions = {}, credentials: AwsCredentialProvider | undefined = awsCredentialsFor(c)): SqsNotificationSource | undefined {
  return c.sqsQueueUrl === undefined ? undefined : sqsNotifications(c, { credentials }, opts);
}

/**
 * The notification source of an AWS source config that names a queue, reusing the S3 source's
 * credentials (`s3Source(c)` result) so both share one assumed-role session.
 */
export function sqsNotifications(c: AwsSourceConfig, shared?: { credentials?: AwsCredentialProvider | undefined }, opts: SqsSourceOptions = {}): SqsNotificationSource {
  if (c.sqsQueueUrl === undefined) throw new Error(`aws ${c.accountId} s3://${c.bucket}: no sqsQueueUrl configured`);
  const credentials = shared !== undefined ? shared.credentials : awsCredentialsFor(c);
  return new SqsNotificationSource(createSqsClient(c, credentials), { ...c, sqsQueueUrl: c.sqsQueueUrl }, opts);
}
