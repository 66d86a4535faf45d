import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';
import { ClickHouseStore } from './clickhouse-store.js';
import { metaFor } from './testdata/sample.js';
import { enrichedBatch } from './testdata/synthetic.js';

// The local ClickHouse's HTTPS port with its self-signed certificate and the password of user
// "sightline", both made by infra/local/services/clickhouse.sh (`pnpm infra:up`) in .data/clickhouse.
const ep = endpoints();
const httpsUrl = process.env.SIGHTLINE_CLICKHOUSE_HTTPS_URL ?? 'https://127.0.0.1:8443';
const caFile = process.env.SIGHTLINE_CLICKHOUSE_CA_FILE ?? path.join(ep.dataDir, 'clickhouse', 'tls', 'server.crt');
const passwordFile = process.env.SIGHTLINE_CLICKHOUSE_PASSWORD_FILE ?? path.join(ep.dataDir, 'clickhouse', 'secrets', 'sightline.password');
const database = `sightline_tls_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(path.join(tmpdir(), 'sightline-ch-tls-'));

before(() => {
  assert.ok(existsSync(caFile) && existsSync(passwordFile), `run \`pnpm infra:up clickhouse\`: ${caFile} and ${passwordFile} are made there`);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  const c = createClient({ url: ep.clickhouseUrl });
  await c.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await c.close();
});

const password = (): string => readFileSync(passwordFile, 'utf8').trim();

/** The error of the store's first request, checked for the secrets it must not carry. */
async function firstError(s: ClickHouseStore, ...secrets: string[]): Promise<Error> {
  try {
    await s.migrate();
  } catch (e) {
    const err = e as Error;
    const all = [err.message, err.stack ?? '', String((err.cause as Error | undefined)?.message ?? '')].join('\n');
    for (const x of secrets) assert.ok(!all.includes(x), 'a secret in the error');
    return err;
  } finally {
    await s.close();
  }
  assert.fail('the store got in');
}

test('clickhouse over HTTPS: CA file and password file; migrate, write and read', async () => {
  const s = ClickHouseStore.open({ url: httpsUrl, database, username: 'sightline', passwordFile, tls: { caFile } });
  try {
    await s.migrate();
    const T0 = Date.UTC(2024, 10, 26, 8);
    const b = enrichedBatch(300, 7, T0, 600_000);
    assert.deepEqual(await s.writeBatch(metaFor('acme', 'tls/1', b.length), b), { written: true });
    const q = { from: T0, to: T0 + 3_600_000, stepSeconds: 3600, metric: 'flows' as const };
    assert.deepEqual((await s.timeSeries('acme', { ...q, use: 'raw' })).points, [{ t: T0, value: 300 }]);
    // it really was HTTPS as user sightline
    // (18.16 has no currentUser(): the query finds itself in the process list)
    const rs = await s.client.query({ query: "SELECT any(user) AS u FROM system.processes WHERE query LIKE '%tls-user-check%'", format: 'JSONEachRow' });
    assert.deepEqual(await rs.json(), [{ u: 'sightline' }]);
  } finally {
    await s.close();
  }
});

test('clickhouse over HTTPS: a wrong password is a clear error naming server, user and cause, without the password', async () => {
  const wrong = path.join(dir, 'wrong.password');
  const wrongPassword = `not-${randomBytes(6).toString('hex')}`;
  writeFileSync(wrong, `${wrongPassword}\n`);
  const err = await firstError(
    ClickHouseStore.open({ url: httpsUrl, database, username: 'sightline', passwordFile: wrong, tls: { caFile } }),
    wrongPassword,
    password(),
  );
  assert.match(err.message, /^clickhouse https:\/\/127\.0\.0\.1:8443 \(user sightline\): the server refused the login \(code \d+\)/);
});

test('clickhouse over HTTPS: an untrusted certificate is a clear error (no CA file; another CA)', async () => {
  const noCa = await firstError(ClickHouseStore.open({ url: httpsUrl, database, username: 'sightline', passwordFile }), password());
  assert.match(noCa.message, /^clickhouse https:\/\/127\.0\.0\.1:8443 \(user sightline\): TLS: the server's certificate is not trusted: its certificate is self-signed/);

  // a CA that did not sign the server's certificate
  const otherCa = path.join(dir, 'other-ca.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other-ca', '-keyout', path.join(dir, 'other-ca.key'), '-out', otherCa], { stdio: 'ignore' });
  const other = await firstError(ClickHouseStore.open({ url: httpsUrl, database, username: 'sightline', passwordFile, tls: { caFile: otherCa } }), password());
  assert.match(other.message, /^clickhouse https:\/\/127\.0\.0\.1:8443 \(user sightline\): TLS: the server's certificate is not trusted/);
});

test('clickhouse store: an unreadable password or CA file is named at open, its content never', () => {
  assert.throws(
    () => ClickHouseStore.open({ url: httpsUrl, database, username: 'sightline', passwordFile: path.join(dir, 'missing'), tls: { caFile } }),
    /clickhouse store \(https:\/\/127\.0\.0\.1:8443\): cannot read passwordFile .*missing: ENOENT/,
  );
  assert.throws(
    () => ClickHouseStore.open({ url: httpsUrl, database, passwordFile, tls: { caFile: path.join(dir, 'no-ca.crt') } }),
    /cannot read tls\.caFile .*no-ca\.crt: ENOENT/,
  );
});
