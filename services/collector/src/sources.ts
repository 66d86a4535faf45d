import * as store from '@sightline/object-store';
import type { Discovery, NotificationSource, ObjectReader } from '@sightline/object-store';
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
  /** SQS (or Pub/Sub) notifications, used instead of polling when configured */
  notifications?: NotificationSource;
  close?(): void;
}

export type SourceFactory = (c: SourceConfig) => Source;

// The object-store package grows a module per cloud; the ones not there yet are reported by name
// when a configuration asks for them, instead of failing the build of this service.
type Maybe = Record<string, unknown>;
const mod = store as unknown as Maybe;

/** Builds a source from its configuration with the object-store package's implementations. */
export const defaultSourceFactory: SourceFactory = (c) => {
  const base = { id: sourceId(c), tenant: c.tenant, cloud: c.cloud, account: sourceAccount(c) };
  switch (c.cloud) {
    case 'aws': {
      const s = store.s3Source(c);
      const sqs = c.sqsQueueUrl !== undefined ? notificationsFor('sqsNotifications', c, s) : undefined;
      return { ...base, reader: s.reader, discovery: s.discovery as Discovery<unknown>, ...(sqs ? { notifications: sqs } : {}), close: () => s.client.destroy() };
    }
    case 'gcp':
      return fromFactory('gcsSource', c, base);
    case 'azure':
      return fromFactory('azureBlobSource', c, base);
  }
};

function fromFactory(name: string, c: SourceConfig, base: Omit<Source, 'reader'>): Source {
  const f = mod[name];
  if (typeof f !== 'function') throw new Error(`${base.id}: the ${c.cloud} source is not available in @sightline/object-store yet (${name})`);
  const s = (f as (c: SourceConfig) => { discovery: Discovery<unknown>; reader: ObjectReader; close?: () => void })(c);
  return { ...base, reader: s.reader, discovery: s.discovery, ...(s.close ? { close: s.close } : {}) };
}

function notificationsFor(name: string, c: SourceConfig, s: unknown): NotificationSource {
  const f = mod[name];
  if (typeof f !== 'function') throw new Error(`${sourceId(c)}: SQS notifications are not available in @sightline/object-store yet (${name}); remove sqsQueueUrl to use list polling`);
  return (f as (c: SourceConfig, s: unknown) => NotificationSource)(c, s);
}
