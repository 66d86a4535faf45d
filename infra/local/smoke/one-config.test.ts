import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createClient } from '@clickhouse/client';
import { endpoints, spawnService, type ServiceProcess } from '@sightline/testkit';

/**
 * The whole backend (collector, enricher, api: real processes) started from ONE configuration file,
 * then that file rewritten to add a tenant with its source, a cluster and a read token: each
 * service takes the change without a restart (same pids), the new tenant's flows are collected,
 * stored and readable with the new read token only, and the new cluster's agent token is accepted.
 */

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const ROOT = endpoints().repoRoot;
const REGION = 'eu-west-1';
const sha = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');

/** A default-format (v2) flow log of `n` records within the last ten minutes, gzip. */
function flowLog(account: string, n: number): Buffer {
  const start = Math.floor(Date.now() / 1000) - 600;
  const lines = ['version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'];
  for (let i = 0; i < n; i++) lines.push(`2 ${account} eni-0a1b2c3d4e5f6a7b${i % 10} 10.0.1.${i % 200} 10.1.2.${i % 100} ${30000 + i} 443 6 3 1500 ${start + i} ${start + i + 60} ACCEPT OK`);
  return gzipSync(lines.join('\n') + '\n');
}

function todayKey(account: string, name: string): string {
  const d = new Date();
  const y = d.getUTCFullYear(), m = String(d.getUTCMonth() + 1).padStart(2, '0'), dd = String(d.getUTCDate()).padStart(2, '0');
  return `AWSLogs/${account}/vpcflowlogs/${REGION}/${y}/${m}/${dd}/${account}_vpcflowlogs_${REGION}_fl-${name}_${y}${m}${dd}T0000Z_${randomBytes(4).toString('hex')}.log.gz`;
}

/** Polls `check` until it is true; fails with `what` and the services' last lines if a service exits first. */
async function until(what: string, procs: ServiceProcess[], check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    for (const p of procs) if (p.child.exitCode !== null) assert.fail(`${what}: a service exited:\n${p.lines.slice(-20).join('\n')}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('one config file runs collector, enricher and api; a reload adds a tenant, source, cluster and read token without a restart', { skip, timeout: 240_000 }, async (t) => {
  const run = randomBytes(4).toString('hex');
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-onecfg-'));
  const file = path.join(dir, 'sightline.yaml');
  const database = `sl_onecfg_${run}`;
  const accounts = { a: '111122223333', b: '444455556666' };
  const buckets = { a: `onecfg-a-${run}`, b: `onecfg-b-${run}` };
  const tokens = { agentA: randomBytes(24).toString('base64url'), agentB: randomBytes(24).toString('base64url'), readA: randomBytes(24).toString('base64url'), readB: randomBytes(24).toString('base64url') };
  const s3 = new S3Client({ region: REGION, endpoint: endpoints().s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  for (const b of Object.values(buckets)) await s3.send(new CreateBucketCommand({ Bucket: b }));
  const ch = createClient({ url: endpoints().clickhouseUrl });
  t.after(async () => {
    await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await ch.close();
  });

  const source = (tenant: 'a' | 'b') => `
      - cloud: aws
        accountId: "${accounts[tenant]}"
        region: ${REGION}
        bucket: ${buckets[tenant]}
        endpoint: ${endpoints().s3Endpoint}
        staticCredentials: { accessKeyId: test, secretAccessKey: test }`;
  const tenantA = `
  acme-${run}:
    sources:${source('a')}
    clusters:
      eks-a: { cloud: aws, accounts: ["${accounts.a}"], tokenSha256: "${sha(tokens.agentA)}" }
    readers:
      - { name: acme dashboards, tokenSha256: "${sha(tokens.readA)}" }`;
  const tenantB = `
  globex-${run}:
    sources:${source('b')}
    clusters:
      eks-b: { cloud: aws, accounts: ["${accounts.b}"], tokenSha256: "${sha(tokens.agentB)}" }
    readers:
      - { name: globex dashboards, tokenSha256: "${sha(tokens.readB)}" }`;
  const write = (tenants: string) => {
    // written whole then renamed, as a ConfigMap update does: a reader never sees half a file
    writeFileSync(`${file}.tmp`, `version: 1
kafka:
  brokers: [${endpoints().kafkaBrokers.map((b) => `"${b}"`).join(', ')}]
  topicPrefix: test-onecfg-${run}.
store: { engine: clickhouse, url: "${endpoints().clickhouseUrl}", database: ${database} }
tenants:${tenants}
collector:
  pollIntervalMs: 500
  kafka: { group: onecfg-${run}-collectors, flowsPartitions: 2, workPartitions: 2, sessionTimeoutMs: 6000 }
  http: { port: 0 }
enricher:
  kafka: { group: onecfg-${run}-enrichers, flowsPartitions: 2, sessionTimeoutMs: 6000 }
  metaStartupTimeoutMs: 5000
  http: { port: 0 }
api:
  listen: { port: 0 }
  metrics: { port: 0 }
`);
    renameSync(`${file}.tmp`, file);
  };
  write(tenantA);

  const env = { SIGHTLINE_LOG_LEVEL: 'info' };
  const svc = (name: string, main: string) => spawnService({ name, argv: ['--import', 'tsx', path.join(ROOT, main), '--config', file], cwd: ROOT, env });
  const collector = svc('collector', 'services/collector/src/main.ts');
  const enricher = svc('enricher', 'services/enricher/src/main.ts');
  const api = svc('api', 'services/api/src/main.ts');
  const procs = [collector, enricher, api];
  t.after(async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
  });
  const pids = procs.map((p) => p.child.pid);
  const apiUrl = (JSON.parse(await api.seen('api: listening')) as { url: string }).url;
  const collectorPort = (JSON.parse(await collector.seen('"collector started"')) as { port: number }).port;
  const enricherPort = (JSON.parse(await enricher.seen('"enricher started"')) as { port: number }).port;

  const flows = async (readToken: string): Promise<number> => {
    const from = Date.now() - 3_600_000;
    const r = await fetch(`${apiUrl}/v1/query/topn?from=${from - (from % 60_000)}&to=${Date.now() + 60_000 - (Date.now() % 60_000)}&dimension=action&metric=flows&limit=10`, { headers: { authorization: `Bearer ${readToken}` } });
    if (r.status !== 200) return -r.status;
    const body = (await r.json()) as { rows: { value: number }[] };
    return body.rows.reduce((s, x) => s + x.value, 0);
  };
  const ingest = async (tenant: string, cluster: string, token: string): Promise<number> => {
    const r = await fetch(`${apiUrl}/v1/tenants/${tenant}/kube-meta`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cluster, resourceVersion: '1', sentAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), full: true, epoch: 1, part: { index: 0, last: true, total: 1 }, upserts: [] }),
    });
    return r.status;
  };
  const metric = async (port: number, re: RegExp): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(re.exec(text)?.[1] ?? 0);
  };

  // before: tenant A only
  await s3.send(new PutObjectCommand({ Bucket: buckets.a, Key: todayKey(accounts.a, 'a'), Body: flowLog(accounts.a, 120) }));
  await until('tenant A flows stored and readable', procs, async () => (await flows(tokens.readA)) === 120);
  assert.equal(await flows(tokens.readB), -401, 'the second read token is unknown before the reload');
  assert.equal(await ingest(`globex-${run}`, 'eks-b', tokens.agentB), 401, 'the second cluster token is unknown before the reload');
  assert.equal(await ingest(`acme-${run}`, 'eks-a', tokens.agentA), 200);

  // the reload: tenant B with its source, cluster and read token
  write(tenantA + tenantB);
  await until('the collector applied the reload', procs, async () => (await metric(collectorPort, /sightline_collector_config_reloads_total\{result="ok"\} (\d+)/)) >= 1);
  await until('the enricher applied the reload', procs, async () => (await metric(enricherPort, /sightline_enricher_config_reloads_total\{result="ok"\} (\d+)/)) >= 1);
  await until('the api accepts the new read token', procs, async () => (await flows(tokens.readB)) >= 0);
  assert.equal(await ingest(`globex-${run}`, 'eks-b', tokens.agentB), 200, 'the new cluster token is accepted');
  assert.equal(await ingest(`acme-${run}`, 'eks-b', tokens.agentB), 403, "the new cluster's token is of its own tenant only");
  assert.ok(enricher.lines.some((l) => l.includes('configuration reloaded') && l.includes('enricher.clusters')), 'the enricher took the new cluster');

  await s3.send(new PutObjectCommand({ Bucket: buckets.b, Key: todayKey(accounts.b, 'b'), Body: flowLog(accounts.b, 75) }));
  await until('tenant B flows stored and readable with its own token', procs, async () => (await flows(tokens.readB)) === 75);
  assert.equal(await flows(tokens.readA), 120, "tenant A's reader still sees only tenant A's flows");

  assert.deepEqual(procs.map((p) => p.child.pid), pids, 'no service was restarted');
  for (const p of procs) assert.equal(p.child.exitCode, null, `${p.child.pid} still running`);
  for (const tok of Object.values(tokens)) for (const p of procs) assert.ok(!p.lines.some((l) => l.includes(tok)), 'no token in a log line');
});
