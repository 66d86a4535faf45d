import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { makeBatchMeta, type BatchMeta } from './batch-meta.js';
import { batchDiff, colIndex, FlowBatch } from './batch.js';
import { BatchDecodeError, Codec, decodeBatch, decodeBatchMeta, encodeBatch, FORMAT_VERSION } from './encoding.js';
import { CLOUDS, FIELD_LIST, FLOW_SCHEMA_VERSION, type Cloud } from './fields.js';

const here = new URL('./testdata/', import.meta.url);
/** Normalized rows built from the clouds' documented sample records; `_from` says which. */
const SAMPLE_ROWS = JSON.parse(readFileSync(new URL('flows.json', here), 'utf8')) as Record<string, unknown>[];

function batchOf(rows: readonly Record<string, unknown>[]): FlowBatch {
  const b = new FlowBatch(Math.max(rows.length, 1));
  for (const row of rows) {
    const r = b.length;
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith('_')) continue;
      if (k === 'extra') {
        b.extras()[r] = v as Record<string, string>;
        continue;
      }
      const i = colIndex(k);
      if (FIELD_LIST[i]!.kind === 'string') b.strings(i)[r] = v as string | null;
      else b.numbers(i)[r] = v === null ? NaN : (v as number);
    }
    b.length++;
  }
  return b;
}

function metaFor(batch: FlowBatch, cloud: Cloud = 'aws', seq = 0): BatchMeta {
  return makeBatchMeta({
    tenant: 'acme',
    cloud,
    account: '123456789010',
    source: { container: 'acme-flow-logs', key: 'AWSLogs/123456789010/vpcflowlogs/us-east-1/2024/11/26/x.log.gz', version: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY', range: { unit: 'bytes', start: 0, end: 1024 } },
    seq,
    records: batch.length,
    createdAt: '2024-11-26T10:05:00.000Z',
  });
}

function roundTrip(batch: FlowBatch, codec: Codec = Codec.Lz4): FlowBatch {
  const meta = metaFor(batch);
  const { meta: m, batch: out } = decodeBatch(encodeBatch(meta, batch, { codec }));
  assert.deepEqual(m, meta);
  assert.equal(batchDiff(batch, out), null);
  return out;
}

/** A small message whose every byte the corruption tests can afford to visit. */
function smallMessage(codec: Codec): Buffer {
  const b = batchOf(SAMPLE_ROWS.slice(0, 3));
  return encodeBatch(metaFor(b), b, { codec });
}

/** Rewrites the header JSON of a message, keeping its checksum right, to craft inputs a writer would not make. */
function withHeader(msg: Buffer, edit: (h: Record<string, unknown>) => void): Buffer {
  const hlen = msg.readUInt32LE(8);
  const h = JSON.parse(msg.subarray(16, 16 + hlen).toString('utf8')) as Record<string, unknown>;
  edit(h);
  const header = Buffer.from(JSON.stringify(h), 'utf8');
  const prefix = Buffer.from(msg.subarray(0, 16));
  prefix.writeUInt32LE(header.length, 8);
  prefix.writeUInt32LE(crc32(header), 12);
  return Buffer.concat([prefix, header, msg.subarray(16 + hlen)]);
}

describe('encodeBatch / decodeBatch round trip', () => {
  it('keeps every sample row of all three clouds, with the same columns allocated', () => {
    const b = batchOf(SAMPLE_ROWS);
    for (const codec of [Codec.Lz4, Codec.Deflate, Codec.None]) {
      const out = roundTrip(b, codec);
      for (let i = 0; i < FIELD_LIST.length; i++) assert.equal(out.columns[i] === undefined, b.columns[i] === undefined, FIELD_LIST[i]!.name);
      for (let r = 0; r < b.length; r++) assert.deepEqual(out.row(r), b.row(r));
    }
  });

  it('keeps one cloud per batch, as the collector sends them', () => {
    for (const cloud of CLOUDS) {
      const rows = SAMPLE_ROWS.filter((r) => r.cloud === cloud);
      assert.ok(rows.length >= 2, cloud);
      const b = batchOf(rows);
      const { batch: out } = decodeBatch(encodeBatch(metaFor(b, cloud), b));
      assert.deepEqual([...Array(b.length).keys()].map((r) => out.jsonLine(r)), [...Array(b.length).keys()].map((r) => b.jsonLine(r)));
    }
  });

  it('allocates every field kind and keeps values, nulls and the empty string apart', () => {
    const n = 5;
    const b = new FlowBatch(n);
    FIELD_LIST.forEach((spec, i) => {
      if (spec.kind === 'string') {
        const c = b.strings(i);
        c[0] = spec.name;
        c[1] = null;
        c[2] = '';
        c[3] = spec.name;
        // c[4] stays null
      } else {
        const c = b.numbers(i);
        c[0] = i;
        c[1] = NaN;
        c[2] = 0;
        c[3] = spec.kind === 'time' ? 1_700_000_000_000.25 : 65535;
      }
    });
    b.length = n;
    const out = roundTrip(b);
    assert.equal(out.get(2, colIndex('bytes')), 0);
    assert.equal(out.get(1, colIndex('bytes')), null);
    assert.equal(out.get(2, colIndex('rule')), '');
    assert.equal(out.get(1, colIndex('rule')), null);
    assert.equal(out.get(4, colIndex('rule')), null);
  });

  it('keeps numbers exactly on every storage path (narrow widths at their limits, fractions, huge, negative, -0, Infinity)', () => {
    const cases: number[][] = [
      [5, 5, 5], // constant
      [0, 254], // widest range a byte holds next to its null marker
      [0, 255],
      [0, 65534],
      [0, 65535],
      [0, 4294967294],
      [0, 4294967295],
      [0, 2 ** 40, NaN], // six-byte offsets
      [0, 2 ** 48 - 2],
      [0, 2 ** 48 - 1],
      [1_560_484_186_127.632, 1_560_484_187_128.213, NaN, 1_560_484_256_279], // whole microseconds
      [1_560_484_186_127.632, 1_560_484_186_127.632345], // nanoseconds do not survive as microseconds
      [-5, 3, NaN, -1],
      [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
      [2 ** 53 + 2, 1],
      [1_560_484_186_127.632, 1_560_484_187_128.2136, NaN],
      [-0, 1],
      [Infinity, -Infinity, 1],
      [NaN, NaN],
      [1e300, 5e-324],
    ];
    for (const values of cases) {
      const b = new FlowBatch(values.length);
      b.numbers(colIndex('bytes')).set(values);
      b.numbers(colIndex('start')).set(values);
      b.length = values.length;
      const { batch: out } = decodeBatch(encodeBatch(metaFor(b), b));
      const got = [...(out.columns[colIndex('bytes')] as Float64Array).subarray(0, values.length)];
      assert.equal(got.length, values.length);
      values.forEach((v, i) => assert.ok(Object.is(got[i], v), `${JSON.stringify(values)}: row ${i} came back as ${got[i]}`));
    }
  });

  it('keeps IPv6, unicode and long strings, and dictionaries wider than one and two bytes', () => {
    const values = [
      '2001:db8::1',
      '::ffff:192.0.2.1',
      'fe80::1ff:fe23:4567:890a',
      'Frankfurt am Main',
      'Zürich',
      '東京',
      '🚀 pod-✓',
      'x'.repeat(100_000),
    ];
    const b = new FlowBatch(values.length);
    b.strings(colIndex('src_addr')).splice(0, values.length, ...values);
    b.length = values.length;
    roundTrip(b);

    for (const n of [300, 70_000]) {
      const big = new FlowBatch(n);
      const c = big.strings(colIndex('insert_id'));
      for (let i = 0; i < n; i++) c[i] = i % 7 === 0 ? null : `id-${i}`;
      big.length = n;
      roundTrip(big);
    }
  });

  it('keeps extra maps: absent, empty, unicode, shared keys', () => {
    const b = new FlowBatch(4);
    b.strings(colIndex('cloud')).fill('aws', 0, 4);
    const ex = b.extras();
    ex[0] = { 'x-custom': 'a', 'ecs-new-field': 'b' };
    ex[2] = {};
    ex[3] = { 'x-custom': 'ünïcödé ✓', '': 'empty key' };
    b.length = 4;
    const out = roundTrip(b);
    assert.equal(out.extra?.[1], null);
    assert.deepEqual(out.extra?.[2], {});
  });

  it('encodes an empty batch', () => {
    const b = new FlowBatch(10);
    b.strings(colIndex('cloud'));
    b.numbers(colIndex('bytes'));
    const out = roundTrip(b);
    assert.equal(out.length, 0);
  });

  it('carries a slice of a larger batch', () => {
    const b = batchOf(SAMPLE_ROWS);
    const part = b.slice(2, 5);
    assert.equal(part.length, 3);
    const out = roundTrip(part);
    for (let r = 0; r < 3; r++) assert.deepEqual(out.row(r), b.row(r + 2));
  });

  it('reads a plain Uint8Array view into a larger buffer as well as a Buffer', () => {
    const msg = smallMessage(Codec.Lz4);
    const big = new Uint8Array(msg.length + 10);
    big.set(msg, 5);
    const { batch } = decodeBatch(big.subarray(5, 5 + msg.length));
    assert.equal(batchDiff(batch, batchOf(SAMPLE_ROWS.slice(0, 3))), null);
  });

  it('refuses a column of the wrong kind and a non-string in a string column, naming them', () => {
    const b = batchOf(SAMPLE_ROWS.slice(0, 2));
    (b.columns as unknown[])[colIndex('bytes')] = ['1', '2'];
    assert.throws(() => encodeBatch(metaFor(b), b), /cannot encode bytes: the column has the wrong kind for a number field/);
    const c = batchOf(SAMPLE_ROWS.slice(0, 2));
    (c.strings(colIndex('rule')) as unknown[])[1] = 42;
    assert.throws(() => encodeBatch(metaFor(c), c), /cannot encode row 1 of rule: expected a string, got number/);
  });

  it('refuses a header that does not match the batch', () => {
    const b = batchOf(SAMPLE_ROWS);
    assert.throws(() => encodeBatch({ ...metaFor(b), records: b.length + 1 }, b), /meta.records is 10 but the batch holds 9 rows/);
    assert.throws(() => encodeBatch({ ...metaFor(b), id: 'nope' }, b), /id/);
  });
});

describe('the committed v1 message', () => {
  // Written by format version 1; every later build must still read it.
  it('decodes to the sample rows', () => {
    const msg = readFileSync(new URL('flows-v1.slfb', here));
    const { meta, batch } = decodeBatch(msg);
    assert.equal(meta.schema, 1);
    assert.equal(meta.records, SAMPLE_ROWS.length);
    assert.equal(batchDiff(batch, batchOf(SAMPLE_ROWS)), null);
  });
});

describe('decodeBatchMeta', () => {
  it('reads the header without touching the body', () => {
    const msg = smallMessage(Codec.Lz4);
    const meta = decodeBatchMeta(msg);
    assert.equal(meta.records, 3);
    // a corrupt body does not stop the header from being read (consumers dedupe first) but stops the body
    const bad = Buffer.from(msg);
    bad[bad.length - 1]! ^= 0xff;
    assert.deepEqual(decodeBatchMeta(bad), meta);
    assert.throws(() => decodeBatch(bad), /body checksum mismatch/);
  });
});

describe('bad input', () => {
  const msg = smallMessage(Codec.Lz4);

  it('rejects a wrong magic, saying what it found', () => {
    const bad = Buffer.from(msg);
    bad.write('PAR1', 0, 'latin1');
    assert.throws(() => decodeBatch(bad), (e: Error) => e instanceof BatchDecodeError && /not a flow batch: magic is 0x50415231/.test(e.message));
    assert.throws(() => decodeBatchMeta(Buffer.from('{"cloud":"aws"}\n')), /not a flow batch/);
  });

  it('rejects a newer format version and a newer flow schema with an upgrade hint', () => {
    const newer = Buffer.from(msg);
    newer[4] = FORMAT_VERSION + 1;
    assert.throws(() => decodeBatchMeta(newer), /format version 2 is newer than this build reads \(1\); upgrade the consumer \(byte 4\)/);
    const schema = withHeader(msg, (h) => (h.schema = FLOW_SCHEMA_VERSION + 1));
    assert.throws(() => decodeBatchMeta(schema), /flow schema 2, newer than this build \(1\); upgrade the consumer/);
    assert.throws(() => decodeBatch(schema), /newer than this build/);
  });

  it('rejects a header that fails validation, naming the field', () => {
    const bad = withHeader(msg, (h) => (h.cloud = 'oracle'));
    assert.throws(() => decodeBatchMeta(bad), /invalid header: cloud/);
    const count = withHeader(msg, (h) => (h.records = 4));
    assert.throws(() => decodeBatch(count), /body holds 3 rows, header says 4/);
  });

  it('rejects a null value (Kafka tombstone) and other non-bytes', () => {
    for (const v of [null, undefined, 'SLFB', 42]) {
      assert.throws(() => decodeBatch(v as unknown as Uint8Array), /flow batch message: expected bytes/);
      assert.throws(() => decodeBatchMeta(v as unknown as Uint8Array), /flow batch message: expected bytes/);
    }
  });

  it('names the source in the message when given one', () => {
    assert.throws(() => decodeBatch(msg.subarray(0, 10), 'flows/3@1234'), /^BatchDecodeError: flows\/3@1234: flow batch message: truncated/);
  });

  for (const codec of [Codec.Lz4, Codec.Deflate, Codec.None]) {
    const m = smallMessage(codec);
    it(`rejects every truncation (${Codec[codec]})`, () => {
      for (let len = 0; len < m.length; len++) {
        assert.throws(() => decodeBatch(m.subarray(0, len)), BatchDecodeError, `length ${len}`);
        assert.throws(() => decodeBatchMeta(m.subarray(0, len)), BatchDecodeError, `length ${len}`);
      }
      assert.throws(() => decodeBatch(Buffer.concat([m, Buffer.from([0])])), /trailing bytes/);
    });

    it(`detects every single-byte corruption (${Codec[codec]})`, () => {
      for (let i = 0; i < m.length; i++) {
        const bad = Buffer.from(m);
        bad[i]! ^= 0x5a;
        assert.throws(() => decodeBatch(bad), BatchDecodeError, `byte ${i}`);
      }
    });
  }

  it('fails cleanly on a corrupt body whose checksum was recomputed (never a crash, never a partial batch)', () => {
    const m = smallMessage(Codec.None);
    const hlen = m.readUInt32LE(8);
    const bodyStart = 16 + hlen + 12;
    let rejected = 0;
    let seed = 7;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 3000; k++) {
      const bad = Buffer.from(m);
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips; f++) bad[bodyStart + Math.floor(rand() * (bad.length - bodyStart))] = Math.floor(rand() * 256);
      bad.writeUInt32LE(crc32(bad.subarray(bodyStart)), bodyStart - 4);
      try {
        const { batch } = decodeBatch(bad);
        // a change inside string bytes or number values decodes to other values: still a well-formed batch
        assert.equal(batch.length, 3);
      } catch (e) {
        assert.ok(e instanceof BatchDecodeError, `iteration ${k}: ${(e as Error).stack}`);
        assert.match(e.message, /body byte \d+/);
        rejected++;
      }
    }
    assert.ok(rejected > 1000, `only ${rejected} of 3000 corrupt bodies were rejected`);
  });
});
