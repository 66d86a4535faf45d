import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { endpoints } from '@sightline/testkit';

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

// The SDK knows Azurite's well-known development account; taking the credential from it keeps the
// key out of this repository while the endpoint still comes from testkit (overridable by env).
function client(): BlobServiceClient {
  const dev = BlobServiceClient.fromConnectionString('UseDevelopmentStorage=true');
  assert.ok(dev.credential instanceof StorageSharedKeyCredential);
  return new BlobServiceClient(endpoints().azureBlobEndpoint, dev.credential);
}

const blockId = (n: number) => Buffer.from(`block-${String(n).padStart(6, '0')}`).toString('base64');

// Azure NSG/VNet flow logs are block blobs that the platform appends to by staging a new block and
// re-committing the whole list once a minute; a reader tracks committed blocks and reads new ranges.
test('azurite: stage/commit blocks, append a block, range-read the new bytes', { skip }, async () => {
  const container = client().getContainerClient(`smoke-${Date.now()}-${randomBytes(3).toString('hex')}`);
  await container.create();
  try {
    const blob = container.getBlockBlobClient('resourceId=/SUBSCRIPTIONS/X/y=2026/m=04/d=16/h=10/m=00/PT1H.json');
    const head = Buffer.from('{"records":[');
    const rec1 = Buffer.from('{"time":"2026-04-16T10:00:00Z","flows":[]}');
    const tail = Buffer.from(']}');
    await blob.stageBlock(blockId(0), head, head.length);
    await blob.stageBlock(blockId(1), rec1, rec1.length);
    await blob.stageBlock(blockId(2), tail, tail.length);
    await blob.commitBlockList([blockId(0), blockId(1), blockId(2)]);

    const first = await blob.getBlockList('committed');
    assert.deepEqual(first.committedBlocks?.map((b) => [b.name, b.size]),
      [[blockId(0), head.length], [blockId(1), rec1.length], [blockId(2), tail.length]]);
    const before = head.length + rec1.length;

    // Append: new record block goes before the closing block, as the platform does.
    const rec2 = Buffer.from(',{"time":"2026-04-16T10:01:00Z","flows":[{"rule":"A"}]}');
    await blob.stageBlock(blockId(3), rec2, rec2.length);
    await blob.commitBlockList([blockId(0), blockId(1), blockId(3), blockId(2)]);
    const second = await blob.getBlockList('committed');
    assert.deepEqual(second.committedBlocks?.map((b) => b.name), [blockId(0), blockId(1), blockId(3), blockId(2)]);
    assert.equal(second.uncommittedBlocks?.length ?? 0, 0);

    const range = await blob.downloadToBuffer(before, rec2.length);
    assert.ok(range.equals(rec2), `range [${before}, ${before + rec2.length}) holds exactly the appended block`);
    const whole = await blob.downloadToBuffer();
    assert.equal(JSON.parse(whole.toString('utf8')).records.length, 2);
  } finally {
    await container.delete();
  }
});
