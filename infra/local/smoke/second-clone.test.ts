import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { endpoints } from '@sightline/testkit';

// A developer with two clones (or work trees) of the repository runs the services from one and
// `pnpm infra:status` from the other: every service the first started must read `up` in the second,
// whose `.data/` is empty. Status probes the services themselves; what a probe needs (the local
// Kubernetes CA) lives in the machine's cache, not in the first clone's `.data/`.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const LOCAL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

/** `infra.sh status` lines as name → up/down (status exits non-zero when any is down: not an error here). */
async function status(script: string, env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const out = await run('bash', [script, 'status'], { env, timeout: 60_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const m = new Map<string, string>();
  for (const line of out.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 3) m.set(f[0]!, f[f.length - 1]!);
  }
  return m;
}

test('infra status from a second clone reports up every service the first clone runs', { skip, timeout: 120_000 }, async (t) => {
  // the data directory of each clone is its own .data: drop an override so each uses its own
  const env = { ...process.env };
  delete env.SIGHTLINE_DATA_DIR;
  const here = await status(path.join(LOCAL, 'infra.sh'), env);
  const running = [...here].filter(([, s]) => s === 'up').map(([n]) => n);
  assert.ok(running.length > 0, `no service runs here: ${JSON.stringify([...here])}`);

  const clone = await mkdtemp(path.join(os.tmpdir(), 'sl-second-clone-'));
  t.after(() => rm(clone, { recursive: true, force: true }));
  await cp(LOCAL, path.join(clone, 'infra/local'), { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
  const there = await status(path.join(clone, 'infra/local/infra.sh'), env);
  for (const name of running) assert.equal(there.get(name), 'up', `${name}: up from the first clone, ${there.get(name) ?? 'missing'} from the second`);
  // and the tests of the second clone find the credentials of the running kube-apiserver
  if (running.includes('kubernetes')) {
    const kubeconfig = endpoints({ ...env, SIGHTLINE_DATA_DIR: path.join(clone, '.data') }).kubeconfig;
    assert.ok(existsSync(kubeconfig), `the second clone's kubeconfig ${kubeconfig} exists`);
  }
});
