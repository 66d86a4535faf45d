import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = path.join(ROOT, 'services/cli/dist/main.js');

/** Resolves when `pred` matches the text so far; rejects at the bound or when the process ends first. */
function waitFor(get: () => string, pred: (s: string) => boolean, exited: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (pred(get())) return resolve();
      if (exited()) return reject(new Error(`process ended before ${what}:\n${get()}`));
      if (Date.now() > until) return reject(new Error(`no ${what} within ${ms} ms:\n${get()}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

test('sightline start: serves the query API with the printed token until SIGTERM, then closes cleanly', async () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'sightline-start-'));
  const p = spawn(process.execPath, ['--enable-source-maps', CLI, 'start', '--data', data, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let code: number | null | undefined;
  let sig: NodeJS.Signals | null = null;
  p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const closed = new Promise<void>((resolve) =>
    p.on('close', (c, s) => {
      code = c;
      sig = s;
      resolve();
    }),
  );
  try {
    await waitFor(() => stdout, (s) => s.includes('press Ctrl-C to stop'), () => code !== undefined, 180_000, 'ready line');
    const url = /query API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    const token = /read token for tenant demo[^:]*: (\S+)/.exec(stdout)?.[1];
    assert.ok(url && token, `URL and token printed:\n${stdout}`);
    const curl = /try: curl -H 'Authorization: Bearer (\S+)' '([^']+)'/.exec(stdout);
    assert.ok(curl, 'a curl line to try');
    assert.equal(curl[1], token);

    // the console's URL, opened on the samples' hours, with no token in it; the api serves its page
    const consoleUrl = /console: (http:\/\/127\.0\.0\.1:\d+\/console\/#\/map\?from=2026-03-10T12:00:00Z&to=2026-03-10T13:00:00Z\S*)/.exec(stdout)?.[1];
    assert.ok(consoleUrl, `the console URL printed:\n${stdout}`);
    assert.ok(!consoleUrl.includes(token), 'no token in the console URL');
    const page = await fetch(consoleUrl.replace(/#.*$/, ''), { signal: AbortSignal.timeout(20_000) });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="app-[A-Z0-9]+\.js">/);

    // the printed query, as the user would run it
    const res = await fetch(curl[2]!, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(20_000) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { rows: { key: Record<string, string | null>; value: number }[] };
    assert.ok(body.rows.length >= 5, `rows: ${JSON.stringify(body)}`);
    assert.ok(body.rows.some((r) => r.key.src_cluster === 'shop-eks') || body.rows.some((r) => r.key.dst_cluster === 'shop-eks'), 'the EKS cluster is among the talkers');

    // a query of its own: flows per destination workload of one cluster, filtered
    const q = new URLSearchParams({ from: String(Date.parse('2026-03-10T12:00:00Z')), to: String(Date.parse('2026-03-10T13:00:00Z')), metric: 'flows', dimension: 'dst_workload', 'where.dst_cluster': 'web-gke', limit: '50' });
    const own = await fetch(`${url}/v1/query/topn?${q}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(20_000) });
    assert.equal(own.status, 200);
    const workloads = ((await own.json()) as { rows: { key: { dst_workload: string | null } }[] }).rows.map((r) => r.key.dst_workload);
    for (const w of ['frontend', 'search-api', 'elasticsearch', 'kube-dns']) assert.ok(workloads.includes(w), `${w} in ${JSON.stringify(workloads)}`);

    const noToken = await fetch(curl[2]!, { signal: AbortSignal.timeout(20_000) });
    assert.equal(noToken.status, 401);
    const wrong = await fetch(curl[2]!, { headers: { authorization: `Bearer ${'x'.repeat(43)}` }, signal: AbortSignal.timeout(20_000) });
    assert.equal(wrong.status, 401);

    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await closed;
    clearTimeout(t);
    assert.equal(sig, null, 'exited on its own, not killed');
    assert.equal(code, 0, `exit code; stderr: ${stderr}`);
    assert.match(stdout, /SIGTERM: stopping\nstopped\n$/);
    assert.ok(!stderr.includes(token), 'the token never reaches stderr');
    await assert.rejects(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) }), 'the port is closed');
  } finally {
    if (code === undefined) {
      p.kill('SIGKILL');
      await closed;
    }
    fs.rmSync(data, { recursive: true, force: true });
  }
});
