import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LABEL_ALLOW_LIST } from '@sightline/kube-model';
import { DuckDBStore } from '@sightline/store';
import { loadEmbeddedConfig } from './config.js';
import { colIndex, makeBatchMeta } from '@sightline/flow';
import { newStats, parseObject } from '@sightline/parsers';
import { fileInput } from '../file-input.js';
import { embeddedSource, legacyBatchId, runPipeline } from './pipeline.js';

const SAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../samples');
const DAY = { from: Date.parse('2026-03-10T00:00:00Z'), to: Date.parse('2026-03-11T00:00:00Z') };

test('a second run over the same store writes nothing twice (deterministic batch ids)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
  const store = await DuckDBStore.open({ path: path.join(dir, 'x.duckdb') });
  try {
    await store.migrate();
    const cfg = loadEmbeddedConfig(path.join(SAMPLES, 'sightline.json'));
    const issues: string[] = [];
    const first = await runPipeline(cfg, store, { onIssue: (m) => issues.push(m) });
    assert.deepEqual(issues, []);
    assert.equal(first.duplicates, 0);
    assert.ok(first.batches >= first.objects);
    const second = await runPipeline(cfg, store);
    assert.equal(second.flows, first.flows);
    assert.equal(second.duplicates, second.batches, 'every batch of the re-run was already stored');
    const total = await store.topN('demo', { ...DAY, dimensions: ['cloud'], metric: 'flows', use: 'raw' });
    assert.equal(total.rows.reduce((s, r) => s + r.value, 0), first.flows);
    // the scope keeps each cluster to its own cloud's flows
    const byCloud = await store.topN('demo', { ...DAY, dimensions: ['cloud', 'src_k8s_cluster'], metric: 'flows', use: 'raw', n: 100 });
    const pairs = new Set(byCloud.rows.filter((r) => r.key[1] !== null).map((r) => `${r.key[0]}:${r.key[1]}`));
    assert.deepEqual([...pairs].sort(), ['aws:shop-eks', 'azure:store-aks', 'gcp:web-gke']);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a cluster scoped to another account attributes nothing of those flows', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
  const raw = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'sightline.json'), 'utf8')) as { clusters: { name: string; kube: string; scope: { accounts: string[] } }[]; sources: string[] };
  for (const c of raw.clusters) c.kube = path.join(SAMPLES, c.kube);
  raw.sources = raw.sources.map((s) => path.join(SAMPLES, s));
  raw.clusters.find((c) => c.name === 'shop-eks')!.scope.accounts = ['210987654321'];
  fs.writeFileSync(path.join(dir, 'sightline.json'), JSON.stringify(raw));
  const store = await DuckDBStore.open({ path: path.join(dir, 'x.duckdb') });
  try {
    await store.migrate();
    const r = await runPipeline(loadEmbeddedConfig(path.join(dir, 'sightline.json')), store);
    const eks = await store.topN('demo', { ...DAY, dimensions: ['src_k8s_cluster'], metric: 'flows', use: 'raw', filters: [{ field: 'cloud', values: ['aws'] }] });
    assert.deepEqual(eks.rows.map((x) => x.key[0]), [null], 'no AWS flow is attributed to a cluster of another account');
    assert.ok(r.attributed < r.flows * 0.9);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a store that cannot write stops the run with its error (a bad object would only be counted)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
  // a real store without its schema: the first write fails in DuckDB
  const store = await DuckDBStore.open({ path: path.join(dir, 'x.duckdb') });
  try {
    await assert.rejects(runPipeline(loadEmbeddedConfig(path.join(SAMPLES, 'sightline.json')), store), (e: Error) => !/^eks\/|^gke\/|^aks\//.test(e.message) && /batches|flows|Table/i.test(e.message));
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an NLB NodePort flow (the NLB interface\'s records carry account-id unknown) is attributed to the node through the object\'s account and the record\'s VPC', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
  try {
    const eks = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'sightline.json'), 'utf8')).clusters.find((c: { name: string }) => c.name === 'shop-eks');
    eks.kube = path.join(SAMPLES, eks.kube);
    fs.writeFileSync(path.join(dir, 'sightline.json'), JSON.stringify({ tenant: 'demo', clusters: [eks], sources: ['AWSLogs'] }));
    // the samples' custom format; the NLB's interface has no instance and an unknown account:
    // client 198.51.100.23 to node ip-10-0-16-10's NodePort 31380, and back
    const logDir = path.join(dir, 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/03/10');
    fs.mkdirSync(logDir, { recursive: true });
    fs.writeFileSync(path.join(logDir, '123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f67890_20260310T1210Z_nlb0.log'), [
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr flow-direction traffic-path',
      '5 unknown eni-0b5e7d1a2c3f4e5d6 198.51.100.23 10.0.16.10 50123 31380 6 12 1800 1773144303 1773144309 ACCEPT OK vpc-0c4f5e6d7a8b9c0d1 subnet-0b7c8a4d8432be704 - 2 IPv4 198.51.100.23 10.0.16.10 egress 8',
      '5 unknown eni-0b5e7d1a2c3f4e5d6 10.0.16.10 198.51.100.23 31380 50123 6 10 9100 1773144303 1773144309 ACCEPT OK vpc-0c4f5e6d7a8b9c0d1 subnet-0b7c8a4d8432be704 - 18 IPv4 10.0.16.10 198.51.100.23 ingress -',
      '',
    ].join('\n'));
    const store = await DuckDBStore.open({ path: path.join(dir, 'x.duckdb') });
    try {
      await store.migrate();
      const r = await runPipeline(loadEmbeddedConfig(path.join(dir, 'sightline.json')), store);
      assert.equal(r.flows, 2);
      assert.deepEqual([r.attribution.attributedDst, r.attribution.attributedSrc], [1, 1], 'the node end of each direction');
      const nodes = await store.topN('demo', { ...DAY, dimensions: ['src_k8s_node', 'dst_k8s_node'], metric: 'flows', use: 'raw' });
      assert.deepEqual(nodes.rows.map((x) => JSON.stringify(x.key)).sort(), ['["ip-10-0-16-10.ec2.internal",null]', '[null,"ip-10-0-16-10.ec2.internal"]']);
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('config errors name the file and the field', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-config-'));
  try {
    const file = path.join(dir, 'sightline.json');
    const scope = { cloud: 'aws', accounts: ['123456789012'] };
    fs.writeFileSync(file, JSON.stringify({ tenant: 'demo', clusters: [{ name: 'a', kube: 'a.json', scope }, { name: 'a', kube: 'b.json', scope }], sources: ['x'] }));
    assert.throws(() => loadEmbeddedConfig(file), (e: Error) => e.message.startsWith(`config ${file}: clusters: cluster names must be unique`));
    fs.writeFileSync(file, JSON.stringify({ tenant: 'demo', clusters: [{ name: 'a', kube: 'a.json', scope: { cloud: 'oci' } }], sources: ['x'], extra: 1 }));
    assert.throws(() => loadEmbeddedConfig(file), (e: Error) => /clusters\.0\.scope\.cloud/.test(e.message) && /extra/.test(e.message));
    fs.writeFileSync(file, '{');
    assert.throws(() => loadEmbeddedConfig(file), (e: Error) => e.message.startsWith(`config ${file}: `));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an object of 10^4 bad records: a bounded sample of its issues with the count, and it counts as failed (no flow, only errors)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
  const raw = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'sightline.json'), 'utf8')) as { clusters: { kube: string }[]; sources: string[] };
  for (const c of raw.clusters) c.kube = path.join(SAMPLES, c.kube);
  fs.mkdirSync(path.join(dir, 'bad'));
  fs.writeFileSync(path.join(dir, 'bad', 'PT1H.json'), `{"records":[${Array<string>(10_000).fill('{}').join(',')}]}`);
  raw.sources = ['bad'];
  fs.writeFileSync(path.join(dir, 'sightline.json'), JSON.stringify(raw));
  const store = await DuckDBStore.open({ path: path.join(dir, 'x.duckdb') });
  try {
    await store.migrate();
    const issues: string[] = [];
    const r = await runPipeline(loadEmbeddedConfig(path.join(dir, 'sightline.json')), store, { onIssue: (m) => issues.push(m) });
    assert.equal(r.parse.errors, 10_000);
    assert.equal(r.failed, 1);
    assert.ok(issues.length <= 102, `${issues.length} issue lines`);
    assert.ok(issues.includes('bad/PT1H.json: 9900 more issues not shown'), issues.slice(-2).join('\n'));
    assert.ok(issues.some((m) => /no flow record, 10000 bad lines or records/.test(m)));
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the run\'s cursor passes an object only once the store confirmed all its batches: a run stopped by the store and resumed from its cursor stores every flow', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
  const store = await DuckDBStore.open({ path: path.join(dir, 'x.duckdb') });
  try {
    await store.migrate();
    const cfg = loadEmbeddedConfig(path.join(SAMPLES, 'sightline.json'));
    // the real store, whose second write fails (as a full disk would): the first write is the first batch alone
    let writes = 0;
    const failing = Object.create(store) as typeof store;
    failing.writeBatches = (items) => (++writes === 2 ? Promise.reject(new Error('disk full')) : store.writeBatches(items));
    const committed: string[] = [];
    await assert.rejects(runPipeline(cfg, failing, { onCommitted: (c) => committed.push(c.last ?? '') }), /disk full/);
    assert.deepEqual(committed, [...committed].sort(), 'committed in key order');
    const cursor = committed.length > 0 ? { v: 1 as const, last: committed.at(-1)! } : null;
    const rest = await runPipeline(cfg, store, { from: cursor });
    const full = await runPipeline(cfg, store);
    assert.equal(full.duplicates, full.batches, 'after the resumed run the store had every batch');
    const stored = await store.withConnection(async (c) => Number((await c.runAndReadAll("SELECT count(*) FROM flows WHERE tenant = 'demo'")).getRowsJS()[0]![0]));
    assert.equal(stored, full.flows);
    assert.equal(rest.objects + committed.length, full.objects, 'the resumed run read only the objects after the cursor');
    assert.equal(rest.cursor?.last, full.cursor?.last);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pod labels are kubetags\' default allow list, as the distributed mode stores them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
  const store = await DuckDBStore.open({ path: path.join(dir, 'x.duckdb') });
  try {
    await store.migrate();
    await runPipeline(loadEmbeddedConfig(path.join(SAMPLES, 'sightline.json')), store);
    const keys = await store.withConnection(async (c) =>
      (await c.runAndReadAll(`SELECT DISTINCT unnest(json_keys(src_k8s_labels)) AS k FROM flows WHERE src_k8s_labels IS NOT NULL ORDER BY k`)).getRowsJS().map((r) => String(r[0])),
    );
    assert.ok(keys.length > 0, 'some pods have labels');
    for (const k of keys) assert.ok(DEFAULT_LABEL_ALLOW_LIST.includes(k), `label ${k} is not in kubetags' default allow list`);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('upgrade: a store the embedded pipeline wrote before it used the collector\'s batch ids is not collected into twice; its rows read on', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-pipeline-'));
  const store = await DuckDBStore.open({ path: path.join(dir, 'x.duckdb') });
  try {
    await store.migrate();
    const cfg = loadEmbeddedConfig(path.join(SAMPLES, 'sightline.json'));
    // what the previous main's runPipeline wrote: each whole parsed batch, id from container
    // `local`, the key, the content's sha256, the first row's cloud and account, and its position
    let written = 0;
    for await (const ref of embeddedSource(cfg).list()) {
      let seq = 0;
      for await (const batch of parseObject(fileInput(path.join(SAMPLES, ref.key)), { source: ref.key, stats: newStats(), onIssue: () => undefined })) {
        const row0 = (name: string) => (batch.columns[colIndex(name)] as (string | null)[])[0] ?? null;
        const meta = makeBatchMeta({ tenant: 'demo', cloud: row0('cloud') as 'aws', account: row0('account') ?? 'unknown', source: { container: 'local', key: ref.key, version: ref.version, range: null }, seq: seq++, records: batch.length });
        if (seq === 1) assert.equal(meta.id, legacyBatchId('demo', ref.key, ref.version, batch));
        await store.writeBatch(meta, batch);
        written += batch.length;
      }
    }
    const issues: string[] = [];
    const r = await runPipeline(cfg, store, { onIssue: (m) => issues.push(m) });
    assert.equal(r.earlier, r.objects, 'every object was found under its earlier ids');
    assert.equal(r.batches, 0);
    assert.ok(issues.every((m) => /already in the store under the batch ids of an earlier version/.test(m)), issues[0]);
    const stored = await store.withConnection(async (c) => Number((await c.runAndReadAll("SELECT count(*) FROM flows WHERE tenant = 'demo'")).getRowsJS()[0]![0]));
    assert.equal(stored, written, 'no flow stored twice');
    const byCloud = await store.topN('demo', { ...DAY, dimensions: ['cloud'], metric: 'flows', use: 'raw' });
    assert.equal(byCloud.rows.reduce((s, x) => s + x.value, 0), written);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
