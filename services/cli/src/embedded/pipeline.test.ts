import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBStore } from '@sightline/store';
import { loadEmbeddedConfig } from './config.js';
import { runPipeline } from './pipeline.js';

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
