import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FlowBatch, colIndex, encodeBatch, makeBatchMeta } from '@sightline/flow';
import { parseConfig } from './config.js';
import { Enricher, openStore } from './enricher.js';
import { EnricherMetrics } from './metrics.js';
import {
  ACCOUNT, VPC, at, createTopics, deleteTopics, enricherConfig, kubeMeta, progress, publish, publishKubeMeta, skipInfra, tempDuckDB, uniqueName, until,
} from './testdata/harness.js';

const quiet = pino({ level: process.env.SIGHTLINE_LOG_LEVEL ?? 'warn' }, pino.destination(2));

/**
 * The records an NLB's interface writes for a NodePort flow: `account-id` is `unknown` (an
 * interface an AWS service created), `vpc-id` the cluster's VPC; client 198.51.100.23 to the
 * node's 10.0.1.10:31380 and back. The batch meta carries the object's account, as the collector
 * sets it from the source (`AWSLogs/<account>/...`).
 */
function nlbMessage(startMs: number): { key: string; value: Buffer } {
  const rows: [string, string, number, number][] = [['198.51.100.23', '10.0.1.10', 50123, 31380], ['10.0.1.10', '198.51.100.23', 31380, 50123]];
  const b = new FlowBatch(rows.length);
  const s = (f: string) => b.strings(colIndex(f));
  const n = (f: string) => b.numbers(colIndex(f));
  rows.forEach(([src, dst, sp, dp], r) => {
    s('cloud')[r] = 'aws';
    s('account')[r] = 'unknown';
    s('vpc_id')[r] = VPC;
    s('interface_id')[r] = 'eni-0b5e7d1a2c3f4e5d6';
    s('src_addr')[r] = src;
    s('dst_addr')[r] = dst;
    s('pkt_srcaddr')[r] = src;
    s('pkt_dstaddr')[r] = dst;
    s('action')[r] = 'accept';
    n('src_port')[r] = sp;
    n('dst_port')[r] = dp;
    n('protocol')[r] = 6;
    n('packets')[r] = 10;
    n('bytes')[r] = 1800;
    n('start')[r] = startMs;
    n('end')[r] = startMs + 30_000;
  });
  b.length = rows.length;
  const meta = makeBatchMeta({ tenant: 'acme', cloud: 'aws', account: ACCOUNT, source: { container: 'flow-logs', key: `AWSLogs/${ACCOUNT}/vpcflowlogs/us-east-1/nlb.log.gz`, version: null, range: null }, seq: 0, records: rows.length });
  return { key: `acme/${ACCOUNT}/nlb`, value: encodeBatch(meta, b) };
}

test('enricher: an NLB NodePort flow (account-id unknown) is attributed to the node through the batch\'s account and the record\'s VPC, for a cluster scoped to that account and VPC', { skip: skipInfra, timeout: 180_000 }, async () => {
  const storeCfg = await tempDuckDB();
  const prefix = `${uniqueName('nlb')}.`;
  const group = uniqueName('g');
  const topics = await createTopics(prefix);
  try {
    await publishKubeMeta(topics.kubeMeta, kubeMeta('acme', 'eks-prod', 'web'));
    const startMs = at('2026-11-26T10:10:00Z');
    await publish(topics.flows, [nlbMessage(startMs)]);
    const cfg = enricherConfig(prefix, group, storeCfg, { clusters: [{ tenant: 'acme', cluster: 'eks-prod', cloud: 'aws', accounts: [ACCOUNT], networks: [VPC] }] });
    const e = await Enricher.start(parseConfig(cfg, 'test'), quiet, new EnricherMetrics(false));
    try {
      await until(`group ${group} to commit every message of ${topics.flows}`, () => progress(group, topics.flows), (p) => p.end > 0 && p.committed === p.end, 90_000);
    } finally {
      await e.stop();
    }
    const store = await openStore(storeCfg);
    try {
      const r = await store.topN('acme', {
        from: Math.floor(startMs / 1000) * 1000 - 60_000, to: Math.ceil(startMs / 1000) * 1000 + 120_000, metric: 'flows', use: 'raw',
        dimensions: ['src_k8s_node', 'dst_k8s_node'],
      });
      assert.deepEqual(r.rows.map((x) => JSON.stringify(x.key)).sort(), ['["ip-10-0-1-10.ec2.internal",null]', '[null,"ip-10-0-1-10.ec2.internal"]'], 'the node end of each direction');
    } finally {
      await store.close();
    }
  } finally {
    await deleteTopics(prefix);
  }
});
