import { WindowCursorSchema, azureBlobSource, gcsSource, s3Source, sqsNotifications, type Discovery, type NotificationSource, type ObjectReader } from '@sightline/object-store';
import type { CheckpointValue } from './checkpoints.js';
import { legacySourceIds, sourceAccount, sourceId, type SourceConfig } from './config.js';

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
  /** older names of this source whose checkpoint it takes over when it has none (CheckpointStore.adopt) */
  legacy?: { ids: string[]; fits(v: CheckpointValue): boolean };
  close?(): void;
}

/**
 * Whether a checkpoint written under an AWS source's name without its layout is this source's: the
 * object keys it names (the last one committed, the ones in the cursor) are under this source's
 * key base, which differs between the plain and the Hive layout. With no key to tell (never seen:
 * every commit names its object), the plain layout, the default, takes it.
 */
export function checkpointUnder(base: string, layout: 'plain' | 'hive'): (v: CheckpointValue) => boolean {
  return (v) => {
    const c = WindowCursorSchema.safeParse(v.cursor);
    const keys = [...(v.last !== undefined ? [v.last] : []), ...(c.success ? c.data.seen.map(([k]) => k) : [])];
    return keys.length > 0 ? keys.some((k) => k.startsWith(base)) : layout === 'plain';
  };
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
      const legacy = { ids: legacySourceIds(c), fits: checkpointUnder(s.discovery.base, c.layout) };
      return { ...base, reader: s.reader, discovery: s.discovery as Discovery<unknown>, ...(notifications ? { notifications } : {}), legacy, close: () => s.client.destroy() };
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
