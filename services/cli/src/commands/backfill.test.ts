import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// `sightline backfill` as a user runs it (the built CLI); what it publishes is tested against the
// emulators and Kafka in services/collector/src/backfill.test.ts.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = path.join(ROOT, 'services/cli/dist/main.js');
const S3 = process.env['SIGHTLINE_S3_ENDPOINT'] ?? 'http://127.0.0.1:5000';
const skip = process.env['SIGHTLINE_SKIP_INFRA'] === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, 'backfill', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('sightline backfill: a range with no objects ends with status 0 and a zero summary; usage and unknown sources are status 2', { skip, timeout: 60_000 }, async (t) => {
  // moto does not check signatures: an empty bucket is one plain PUT.
  const bucket = `sl-bfcli-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  assert.equal((await fetch(`${S3}/${bucket}`, { method: 'PUT' })).status, 200);
  t.after(async () => { await fetch(`${S3}/${bucket}`, { method: 'DELETE' }).catch(() => undefined); });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-bfcli-'));
  const config = path.join(dir, 'collector.json');
  fs.writeFileSync(config, JSON.stringify({
    kafka: { brokers: (process.env['SIGHTLINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(','), topicPrefix: `${bucket}.` },
    sources: [{ cloud: 'aws', tenant: 'acme', accountId: '123456789012', region: 'us-east-1', bucket, endpoint: S3, staticCredentials: { accessKeyId: 'test', secretAccessKey: 'cli-dummy-secret-never-print' } }],
  }));

  const empty = await run(['--config', config, '--from', '2024-01-01', '--to', '2024-01-07']);
  assert.equal(empty.code, 0, empty.stderr);
  const last = empty.stdout.trim().split('\n').at(-1)!;
  const summary = JSON.parse(last) as Record<string, unknown>;
  assert.deepEqual({ ...summary, seconds: 0 }, { sources: [`acme/aws/123456789012/us-east-1/${bucket}/#plain`], objects: 0, bytes: 0, flows: 0, batches: 0, failures: 0, seconds: 0 });
  // Not a terminal: the progress and the summary are JSON log records (the AWS SDK's own Node
  // version warning is a plain stderr line, not ours: left out here).
  const logs = empty.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
  assert.match(logs.at(-1)!.msg, /^backfill done: 0 objects, 0 bytes, 0 flows/);
  assert.ok(!empty.stderr.includes('cli-dummy-secret-never-print'));

  const unknown = await run(['--config', config, '--from', '2024-01-01', '--to', '2024-01-07', '--source', 'acme/aws/nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, new RegExp(`no source acme/aws/nope in .*; its sources are:\\n {2}acme/aws/123456789012/us-east-1/${bucket}/#plain`));
  const bad = await run(['--config', config, '--from', 'last week', '--to', '2024-01-07']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--from last week: expected an RFC 3339 time/);
  const backwards = await run(['--config', config, '--from', '2024-01-07', '--to', '2024-01-01']);
  assert.equal(backwards.code, 2);
  assert.match(backwards.stderr, /--to \(2024-01-02T00:00:00\.000Z\) must be after --from/);
  const missing = await run(['--config', config]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--from, --to required\nusage: sightline backfill/);
});
