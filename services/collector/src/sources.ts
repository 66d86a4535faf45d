import { azureBlobSource, gcsSource, s3Source, sqsNotifications, type Discovery, type NotificationSource, type ObjectReader } from '@sightline/object-store';
import { sourceAccount, sourceId, type SourceConfig } from './config.js';

/** What the collector needs of one configured source: how to find units and how to read them. */
export interface Source {
  id: string;
  tenant: string;
  cloud: SourceConfig['cloud'];
  account: string;
  reader: ObjectReader;
  /** list polling with a persisted cursor */
  discovery?: Discovery<unknown>;
  /** SQS notifications, used instead of list polling when the source names a queue */
  notifications?: NotificationSource;
  close?(): void;
}

export type SourceFactory = (c: SourceConfig) => Source;

/** Builds a source from its configuration with the object-store package's implementations. */
export const defaultSourceFactory: SourceFactory = (c) => {
  const base = { id: sourceId(c), tenant: c.tenant, cloud: c.cloud, account: sourceAccount(c) };
  switch (c.cloud) {
    case 'aws': {
      const s = s3Source(c);
      // One assumed-role session for listing, reading and the queue.
      const notifications = c.sqsQueueUrl !== undefined ? sqsNotifications(c, s) : undefined;
      return { ...base, reader: s.reader, discovery: s.discovery as Discovery<unknown>, ...(notifications ? { notifications } : {}), close: () => s.client.destroy() };
    }
    case 'gcp': {
      const s = gcsSource(c);
      return { ...base, reader: s.reader, discovery: s.discovery as Discovery<unknown> };
    }
    case 'azure': {
      const s = azureBlobSource(c);
      return { ...base, reader: s.reader, discovery: s.discovery as Discovery<unknown> };
    }
  }
};
