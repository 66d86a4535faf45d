import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { ClickHouseStore } from './clickhouse-store.js';
import { RAW_FLOW_TABLES } from './schema.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// The local server's config (infra/local/clickhouse/config.xml) gives its parts zstd, Sightline's
// recommended server setting (README "Bytes per flow on disk"): 18.16 has no column CODEC, so the
// server's <compression> is the only way there. The shared server takes a config change only at its
// next start, so this test starts its own server from that config, on free ports, and reads the
// compression method of a part the store wrote.
const CONFIG_DIR = new URL('../../../infra/local/clickhouse/', import.meta.url);
const hasServer = spawnSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' }).status === 0;
const skip = hasServer ? false : 'clickhouse-server is not installed (infra/local/infra.sh up clickhouse installs it)';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The method byte of a column file's first block: 16 bytes of checksum, then the method. */
function methodOf(file: string): string {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, 16);
  closeSync(fd);
  return ({ 0x02: 'none', 0x82: 'lz4', 0x90: 'zstd' } as Record<number, string>)[b[0]!] ?? `0x${b[0]!.toString(16)}`;
}

test('the local ClickHouse config compresses the store\'s parts with zstd', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sightline-ch-compression-'));
  const [http, tcp] = [await freePort(), await freePort()];
  for (const d of ['etc', 'log', 'tmp', 'user_files', 'format_schemas']) mkdirSync(path.join(dir, d));
  // rendered as services/clickhouse.sh does, on other ports and without HTTPS (no certificate here)
  const config = readFileSync(new URL('config.xml', CONFIG_DIR), 'utf8')
    .replaceAll('@DATA@', dir)
    .replace(/<http_port>\d+<\/http_port>/, `<http_port>${http}</http_port>`)
    .replace(/<tcp_port>\d+<\/tcp_port>/, `<tcp_port>${tcp}</tcp_port>`)
    .replace(/<https_port>\d+<\/https_port>/, '')
    .replace(/<openSSL>[\s\S]*?<\/openSSL>/, '');
  writeFileSync(path.join(dir, 'etc/config.xml'), config);
  writeFileSync(path.join(dir, 'etc/users.xml'), readFileSync(new URL('users.xml', CONFIG_DIR), 'utf8').replace('@SIGHTLINE_PASSWORD_SHA256@', '0'.repeat(64)));
  const server = spawn('clickhouse-server', [`--config-file=${path.join(dir, 'etc/config.xml')}`], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${http}`;
  const probe = createClient({ url });
  const store = ClickHouseStore.open({ url, database: 'sightline_compression' });
  try {
    // up once it answers a query (its tables loaded)
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await probe.query({ query: 'SELECT 1', format: 'TabSeparated' }).then(async (r) => (await r.text()).trim() === '1', () => false);
      if (ok) break;
      if (server.exitCode !== null || Date.now() > deadline) assert.fail(`clickhouse-server did not answer on ${url} (exit ${server.exitCode}); see ${dir}/log`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await store.migrate();
    const batch = enrichedBatch(5000, 42, Date.UTC(2024, 10, 26, 8), 3_600_000);
    assert.equal((await store.writeBatch(metaFor('acme', 'compression/0', batch.length), batch)).written, true);
    // the raw rows are in the cloud tables (store migration 9); `flows` is a view over them
    const tables = RAW_FLOW_TABLES.map((t) => `'${t}'`).join(', ');
    const parts = await (await probe.query({ query: `SELECT path FROM system.parts WHERE database = 'sightline_compression' AND table IN (${tables}) AND active`, format: 'JSONEachRow' })).json<{ path: string }>();
    assert.ok(parts.length > 0, 'no part of a raw table');
    for (const p of parts) {
      assert.equal(methodOf(path.join(p.path, 'row_no.bin')), 'zstd', p.path);
      assert.equal(methodOf(path.join(p.path, 'src_k8s_pod.bin')), 'zstd', p.path);
    }
    // The config's profile turns on 18.16's predicate push-down into the branches of a view (on by
    // default from 20.1), so SQL that is not the store's own (Grafana's) reads only the matching parts
    // of each branch: another tenant's part is skipped by its key through `flows`, where without
    // push-down the view reads every row of every branch (16,384 rows to read here).
    const setting = await (await probe.query({ query: "SELECT value FROM system.settings WHERE name = 'enable_optimize_predicate_expression'", format: 'TabSeparated' })).text();
    assert.equal(setting.trim(), '1', 'the profile sets enable_optimize_predicate_expression');
    const other = enrichedBatch(5000, 43, Date.UTC(2024, 10, 26, 8), 3_600_000);
    assert.equal((await store.writeBatch(metaFor('zeta', 'compression/1', other.length), other)).written, true);
    const through = await probe.query({
      query: "SELECT count() FROM sightline_compression.flows WHERE tenant = 'acme'",
      format: 'TabSeparated',
      clickhouse_settings: { max_rows_to_read: '9000' },
    }).then(async (r) => (await r.text()).trim(), (e: Error) => `error: ${e.message.slice(0, 200)}`);
    assert.equal(through, '5000', 'a WHERE on the view reaches its branches with the local profile');
  } finally {
    await store.close();
    await probe.close();
    server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
