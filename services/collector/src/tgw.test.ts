import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { colIndex, decodeBatch } from '@sightline/flow';
import { Collector } from './collector.js';
import { createLogger } from './log.js';
import { ACCOUNT, REGION, adminS3, awsSource, createBucket, putObject, readTopic, skipInfra, uniqueName, writeConfig } from './testdata/harness.js';

/**
 * AWS Transit Gateway flow logs through the collector, from the S3 emulator (moto) to Kafka: the
 * parsers' real-format samples under the key layout AWS delivers them to (text gzip and Parquet),
 * read, parsed as Transit Gateway flows and keyed by the attachment that recorded each flow.
 */

const parsersRoot = dirname(dirname(createRequire(import.meta.url).resolve('@sightline/parsers')));
const sample = (f: string) => readFileSync(join(parsersRoot, 'src/formats/aws-tgw/testdata', f));

/** `AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/{account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmmZ}_{hash}.log.gz`, today. */
function tgwKey(ext: string): string {
  const now = new Date();
  const y = now.getUTCFullYear();
  const m = String(now.getUTCMonth() + 1).padStart(2, '0');
  const d = String(now.getUTCDate()).padStart(2, '0');
  return `AWSLogs/${ACCOUNT}/vpcflowlogs/${REGION}/${y}/${m}/${d}/${ACCOUNT}_vpcflowlogs_${REGION}_fl-0f1e2d3c4b5a69788_${y}${m}${d}T0000Z_${uniqueName('h')}.${ext}`;
}

test('Transit Gateway flow logs from S3 (gzip text and Parquet) reach Kafka as aws-tgw rows, keyed by attachment', { skip: skipInfra, timeout: 120_000 }, async () => {
  const s3 = adminS3();
  const bucket = uniqueName('tgw');
  const prefix = `${uniqueName('t')}.`;
  await createBucket(s3, bucket);
  const textKey = tgwKey('log.gz');
  const parquetKey = tgwKey('log.parquet');
  await putObject(s3, bucket, textKey, sample('123456789012_vpcflowlogs_us-east-1_fl-0f1e2d3c4b5a69788_20251202T0600Z_3c9a1f2e.log.gz'));
  await putObject(s3, bucket, parquetKey, sample('default-v6.gzip.parquet'));

  const config = await writeConfig({ prefix, sources: [awsSource(bucket)] });
  const c = await Collector.start({ configFile: config, once: true, log: createLogger({ level: 'warn' }) });
  await c.done;
  await c.stop();
  assert.equal(c.failures, 0);

  const msgs = await readTopic(`${prefix}flows`, (v, key) => ({ key, ...decodeBatch(v) }), (all) => all.reduce((n, m) => n + m.batch.length, 0) >= 12);
  const rows = (key: string) => msgs.filter((m) => m.meta.source.key === key);
  for (const [key, format] of [[textKey, 'aws-tgw-text'], [parquetKey, 'aws-tgw-parquet']] as const) {
    const ms = rows(key);
    assert.equal(ms.reduce((n, m) => n + m.batch.length, 0), 6, `${key}: 6 flows (the NODATA line is none)`);
    const attachmentsByKey = new Map<string, Set<string>>();
    for (const m of ms) {
      for (let r = 0; r < m.batch.length; r++) {
        assert.equal(m.batch.get(r, colIndex('format')), format);
        assert.equal(m.batch.get(r, colIndex('tgw_id')), 'tgw-0e1f2a3b4c5d6e7f8');
        const att = m.batch.get(r, colIndex('tgw_attachment_id')) as string;
        let s = attachmentsByKey.get(m.key);
        if (!s) attachmentsByKey.set(m.key, (s = new Set()));
        s.add(att);
      }
      assert.equal(m.meta.account, ACCOUNT);
    }
    // one attachment's flows are all under one message key (one partition, in order)
    const keyOf = new Map<string, string>();
    for (const [k, atts] of attachmentsByKey) for (const a of atts) {
      assert.equal(keyOf.get(a) ?? k, k, `${a} under one key`);
      keyOf.set(a, k);
    }
    assert.equal(keyOf.size, 3, 'three attachments');
  }
  const vpn = rows(textKey).flatMap((m) => [...Array(m.batch.length).keys()].filter((i) => m.batch.get(i, colIndex('packets_lost_blackhole')) === 4).map((i) => ({ m, i })));
  assert.equal(vpn.length, 1, 'the drop counters travel');
  assert.equal(vpn[0]!.m.batch.get(vpn[0]!.i, colIndex('resource_type')), 'TransitGatewayAttachment');
});
