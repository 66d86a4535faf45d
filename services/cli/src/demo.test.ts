import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { newStats, parseObject } from '@sightline/parsers';
import { DuckDBStore } from '@sightline/store';
import { fileInput } from './file-input.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'services/cli/dist/main.js');
const SAMPLES = path.join(ROOT, 'samples');

const Summary = z.object({ flows: z.number().int().positive(), attributed: z.number().int().nonnegative(), store: z.literal('duckdb'), path: z.string().min(1) }).strict();

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--enable-source-maps', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`sightline ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Flow objects under the cluster folders: every file but the dumps (independent of the pipeline's own walk). */
function sampleObjects(): string[] {
  const out: string[] = [];
  for (const c of ['eks', 'gke', 'aks']) {
    for (const e of fs.readdirSync(path.join(SAMPLES, c), { withFileTypes: true, recursive: true })) {
      if (e.isFile() && e.name !== 'kube.json') out.push(path.join(e.parentPath, e.name));
    }
  }
  return out;
}

/** cluster name → names of its top-level workloads, from the dumps. */
function workloadsByCluster(): Map<string, Set<string>> {
  const cfg = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'sightline.json'), 'utf8')) as { clusters: { name: string; kube: string }[] };
  const m = new Map<string, Set<string>>();
  for (const c of cfg.clusters) {
    const items = (JSON.parse(fs.readFileSync(path.join(SAMPLES, c.kube), 'utf8')) as { items: { kind: string; metadata: { name: string } }[] }).items;
    m.set(c.name, new Set(items.filter((i) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(i.kind)).map((i) => i.metadata.name)));
  }
  return m;
}

test('sightline demo: collects, attributes and stores the samples, prints top talkers and the summary line', async () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-demo-'));
  try {
    const r = await run(['demo', '--data', data, '--port', '0'], 180_000);
    assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
    const lines = r.stdout.trimEnd().split('\n');
    const summary = Summary.parse(JSON.parse(lines.at(-1)!));

    let parsed = 0;
    const objects = sampleObjects();
    assert.ok(objects.length >= 3, `sample objects: ${objects.length}`);
    for (const f of objects) for await (const b of parseObject(fileInput(f), { source: f, stats: newStats(), onIssue: () => {} })) parsed += b.length;
    assert.equal(summary.flows, parsed, 'flows equals what the parsers read from the samples');
    assert.ok(summary.flows >= 1000, `thousands of flows: ${summary.flows}`);
    assert.ok(summary.attributed >= 0.9 * summary.flows, `attributed ${summary.attributed} of ${summary.flows}`);
    // traffic outside the clusters is part of the samples and must stay unattributed
    assert.ok(summary.attributed < summary.flows, 'some flows are not attributed (never guessed)');

    assert.equal(summary.path, path.join(data, 'sightline.duckdb'));
    assert.ok(fs.statSync(summary.path).size > 0, 'the DuckDB file exists');
    const store = await DuckDBStore.open({ path: summary.path });
    try {
      const byCloud = await store.topN('demo', { from: Date.parse('2026-03-10T00:00:00Z'), to: Date.parse('2026-03-11T00:00:00Z'), dimensions: ['cloud'], metric: 'flows', use: 'raw' });
      assert.deepEqual(byCloud.rows.map((x) => x.key[0]).sort(), ['aws', 'azure', 'gcp']);
      assert.equal(byCloud.rows.reduce((s, x) => s + x.value, 0), summary.flows, 'every flow is in the store once');
    } finally {
      await store.close();
    }

    const head = lines.findIndex((l) => l.startsWith('top talkers by workload'));
    assert.ok(head >= 0, `a top-talkers section in:\n${r.stdout}`);
    const rows = lines.slice(head + 2).filter((l) => l.startsWith('  ') && /\d+(\.\d)? [KMG]?B$/.test(l));
    assert.ok(rows.length >= 5, `top talker rows:\n${rows.join('\n')}`);
    const known = workloadsByCluster();
    let named = 0;
    for (const row of rows) {
      for (const end of row.trim().split(/\s{2,}/).slice(0, 2)) {
        if (end.startsWith('(')) continue;
        const [cluster, workload] = end.split('/');
        if (workload === '(node)') continue;
        assert.ok(known.get(cluster!)?.has(workload!), `${end} is a workload of the samples' cluster ${cluster}`);
        named++;
      }
    }
    assert.ok(named >= 5, `top talkers name workloads: ${named}`);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});
