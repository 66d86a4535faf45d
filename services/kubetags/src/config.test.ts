import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from './config.js';

test('config: defaults around cluster and backend; bad fields named with the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetags-config-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ cluster: 'prod-eks', backend: { url: 'https://api.example.com', tenant: 'acme', tokenFile: '/t' } }));
  const c = loadConfig(file);
  assert.deepEqual([c.batch.maxObjects, c.buffer.maxObjects, c.watch.timeoutSeconds, c.kubeconfig, c.backend.timeoutMs], [500, 50_000, 300, undefined, 30_000]);
  writeFileSync(file, JSON.stringify({ cluster: 'Prod_EKS', backend: { url: 'ftp://x', tenant: 'acme' } }));
  assert.throws(() => loadConfig(file), (e: unknown) => e instanceof Error && e.message.startsWith(`config ${file}`) && /cluster/.test(e.message) && /backend\.url/.test(e.message) && /backend\.tokenFile/.test(e.message));
});

// The agent reads its config through packages/config's one loader (as the backend services do):
// a syntax error is told by position only, since JSON.parse's message quotes the text around it.
test('config: a syntax error names its place and quotes none of the text; YAML is read too', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetags-config-'));
  const file = path.join(dir, 'config.json');
  const secret = 'hunter2hunter2hunter2';
  writeFileSync(file, `{"cluster": "prod-eks", "backend": {"url": "https://api.example.com", "tenant": "acme", "tokenFile": ${secret}}}`);
  assert.throws(() => loadConfig(file), (e: unknown) => e instanceof Error && /not valid JSON: unexpected character at line 1, column \d+/.test(e.message) && !e.message.includes(secret.slice(0, 6)));
  const yaml = path.join(dir, 'config.yaml');
  writeFileSync(yaml, 'cluster: prod-eks\nbackend:\n  url: https://api.example.com\n  tenant: acme\n  tokenFile: /t\n');
  assert.equal(loadConfig(yaml).cluster, 'prod-eks');
});
