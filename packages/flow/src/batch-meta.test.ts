import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchId, BatchMetaSchema, makeBatchMeta, type BatchIdentity } from './batch-meta.js';
import { FLOW_SCHEMA_VERSION } from './fields.js';

const base: BatchIdentity = {
  tenant: 'acme',
  cloud: 'aws',
  account: '123456789012',
  source: {
    container: 'acme-flow-logs',
    key: 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/11/26/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20241126T1005Z_1a2b3c4d.log.gz',
    version: '"9b2cf535f27731c974343645a3985328"',
    range: { unit: 'bytes', start: 0, end: 4_194_304 },
  },
  seq: 0,
};

describe('batchId', () => {
  it('is a hex sha256 and the same for the same identity', () => {
    const a = batchId(base);
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(batchId(structuredClone(base)), a);
  });

  it('changes with every identity part', () => {
    const a = batchId(base);
    const variants: BatchIdentity[] = [
      { ...base, tenant: 'acme2' },
      { ...base, cloud: 'gcp' },
      { ...base, account: '123456789013' },
      { ...base, seq: 1 },
      { ...base, source: { ...base.source, container: 'other' } },
      { ...base, source: { ...base.source, key: base.source.key + 'x' } },
      { ...base, source: { ...base.source, version: null } },
      { ...base, source: { ...base.source, range: null } },
      { ...base, source: { ...base.source, range: { unit: 'blocks', start: 0, end: 4_194_304 } } },
      { ...base, source: { ...base.source, range: { unit: 'bytes', start: 1, end: 4_194_304 } } },
      { ...base, source: { ...base.source, range: { unit: 'bytes', start: 0, end: 4_194_305 } } },
    ];
    const ids = new Set(variants.map(batchId));
    assert.equal(ids.size, variants.length);
    assert.ok(!ids.has(a));
  });

  it('does not let a separator inside a part collide with the next part', () => {
    const x = batchId({ ...base, source: { ...base.source, container: 'a/b', key: 'c' } });
    const y = batchId({ ...base, source: { ...base.source, container: 'a', key: 'b/c' } });
    assert.notEqual(x, y);
  });
});

describe('makeBatchMeta', () => {
  it('fills the schema version and id, and leaves the id independent of count and time', () => {
    const m1 = makeBatchMeta({ ...base, records: 10, createdAt: new Date('2024-11-26T10:05:00Z') });
    const m2 = makeBatchMeta({ ...base, records: 11, createdAt: '2024-11-26T11:00:00.123Z' });
    assert.equal(m1.schema, FLOW_SCHEMA_VERSION);
    assert.equal(m1.id, batchId(base));
    assert.equal(m2.id, m1.id);
    assert.equal(m1.createdAt, '2024-11-26T10:05:00.000Z');
  });

  it('rejects what would make a bad header', () => {
    assert.throws(() => makeBatchMeta({ ...base, tenant: '', records: 1 }), /tenant/);
    assert.throws(() => makeBatchMeta({ ...base, records: -1 }), /records/);
    assert.throws(() => makeBatchMeta({ ...base, seq: 0.5, records: 1 }), /seq/);
    assert.throws(() => makeBatchMeta({ ...base, source: { ...base.source, range: { unit: 'bytes', start: 9, end: 3 } }, records: 1 }), /range end/);
    assert.throws(() => makeBatchMeta({ ...base, records: 1, createdAt: '2024-11-26 10:05' }), /createdAt/);
  });

  it('round-trips through JSON and the schema', () => {
    const m = makeBatchMeta({ ...base, records: 3, createdAt: '2024-11-26T10:05:00.000Z' });
    assert.deepEqual(BatchMetaSchema.parse(JSON.parse(JSON.stringify(m))), m);
  });
});
