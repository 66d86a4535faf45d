import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobServiceClient } from '@azure/storage-blob';
import { newStats, parseObject, type ParseIssue } from '@sightline/parsers';
import { AzureBlobReader } from './azure-blob.js';
import type { ObjectRef } from './types.js';

/**
 * The Azure source owns its framing: a unit of blocks is not a document by itself, and the reader
 * says what to put around it (the collector used to re-add `{"records":[` and `]}` itself).
 */

const reader = new AzureBlobReader(new BlobServiceClient('http://127.0.0.1:1/devstoreaccount1'));
const ref = (o: Partial<ObjectRef>): ObjectRef => ({ cloud: 'azure', tenant: 't', account: 's', bucket: 'insights-logs-flowlogflowevent', key: 'x/PT1H.json', version: '', size: 0, ...o });

const RECORD = '{"time":"2022-09-14T09:00:52.5625085Z","flowLogVersion":4,"flowLogGUID":"g","macAddress":"00224871C205","category":"FlowLogFlowEvent",'
  + '"flowLogResourceID":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/FL",'
  + '"targetResourceID":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet","operationName":"FlowLogFlowEvent",'
  + '"flowRecords":{"flows":[{"aclID":"a","flowGroups":[{"rule":"r","flowTuples":["1663146003599,10.0.0.6,192.0.2.180,23956,443,6,O,B,NX,0,0,0,0"]}]}]}}';

async function parseFramed(r: ObjectRef, unit: string) {
  const f = reader.framing(r);
  const bytes = Buffer.concat([f.head ?? Buffer.alloc(0), Buffer.from(unit), f.tail ?? Buffer.alloc(0)]);
  const issues: ParseIssue[] = [];
  const stats = newStats();
  let rows = 0;
  for await (const b of parseObject({ name: r.key, open: () => (async function* () { yield bytes; })() }, { source: r.key, stats, onIssue: (i) => issues.push(i) })) rows += b.length;
  return { rows, issues, stats };
}

test('the first block unit of a blob: its own head, the tail put back behind; a later one: the head too', async () => {
  assert.deepEqual(reader.framing(ref({ blocks: { first: 0, last: 2 } })), { head: undefined, tail: Buffer.from(']}') });
  assert.deepEqual(reader.framing(ref({ blocks: { first: 2, last: 3 }, fragment: true })), { head: Buffer.from('{"records":['), tail: Buffer.from(']}') });
  assert.deepEqual(reader.framing(ref({})), { head: undefined, tail: undefined }, 'a blob read whole (by bytes) is its own document');
});

test('framed units parse whole: no unfinished document, every record read', async () => {
  const first = await parseFramed(ref({ blocks: { first: 0, last: 2 } }), `{"records":[${RECORD}`);
  assert.deepEqual([first.rows, first.stats.incomplete, first.issues.length], [1, 0, 0]);
  const later = await parseFramed(ref({ blocks: { first: 2, last: 3 }, fragment: true }), `,${RECORD}`);
  assert.deepEqual([later.rows, later.stats.incomplete, later.issues.length], [1, 0, 0]);
});
