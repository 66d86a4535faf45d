import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bearer, hashToken, TokenIndex, TokenFileSchema } from './tokens.js';

test('a token maps to its tenant and cluster by hash; others map to nothing', () => {
  const idx = new TokenIndex(TokenFileSchema.parse({ clusters: [{ tokenSha256: hashToken('a'.repeat(32)), tenant: 'acme', cluster: 'prod' }] }));
  assert.deepEqual(idx.lookup('a'.repeat(32)), { tenant: 'acme', cluster: 'prod' });
  assert.equal(idx.lookup('b'.repeat(32)), null);
});

test('the token file: hashes only, names checked, one token per cluster; errors name the file, never a hash', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokens-'));
  const h = hashToken('x'.repeat(40));
  const file = path.join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ clusters: [{ tokenSha256: h, tenant: 'acme', cluster: 'prod' }, { tokenSha256: h, tenant: 'acme', cluster: 'dev' }] }));
  assert.throws(() => TokenIndex.fromFile(file), (e: unknown) => e instanceof Error && e.message.includes(file) && e.message.includes('clusters.1.tokenSha256') && !e.message.includes(h));
  writeFileSync(file, JSON.stringify({ clusters: [{ tokenSha256: 'x'.repeat(40), tenant: 'acme', cluster: 'prod' }] }));
  assert.throws(() => TokenIndex.fromFile(file), /sha256 of the token/);
  writeFileSync(file, JSON.stringify({ clusters: [{ tokenSha256: h, tenant: 'Acme/x', cluster: 'prod' }] }));
  assert.throws(() => TokenIndex.fromFile(file), /clusters\.0\.tenant/);
});

test('bearer: only a well-formed Authorization header yields a token', () => {
  assert.equal(bearer(`Bearer ${'t'.repeat(20)}`), 't'.repeat(20));
  assert.equal(bearer(`bearer   ${'t'.repeat(20)}`), 't'.repeat(20));
  assert.equal(bearer(undefined), null);
  assert.equal(bearer(`Basic ${'t'.repeat(20)}`), null);
  assert.equal(bearer('Bearer short'), null);
});

test('read tokens: a reader token reads its tenant; a cluster token is told apart from an unknown one; none is both', () => {
  const ingest = 'i'.repeat(32);
  const read = 'r'.repeat(32);
  const idx = new TokenIndex(
    TokenFileSchema.parse({
      clusters: [{ tokenSha256: hashToken(ingest), tenant: 'acme', cluster: 'prod' }],
      readers: [{ tokenSha256: hashToken(read), tenant: 'acme', name: 'grafana' }],
    }),
  );
  assert.deepEqual(idx.lookupReader(read), { tenant: 'acme', name: 'grafana' });
  assert.equal(idx.lookupReader(ingest), 'ingest-token');
  assert.equal(idx.lookupReader('u'.repeat(32)), null);
  // the ingest lookup knows nothing of read tokens
  assert.equal(idx.lookup(read), null);
  const both = TokenFileSchema.safeParse({
    clusters: [{ tokenSha256: hashToken(ingest), tenant: 'acme', cluster: 'prod' }],
    readers: [{ tokenSha256: hashToken(ingest), tenant: 'acme' }],
  });
  assert.equal(both.success, false);
  assert.deepEqual(both.error?.issues[0]?.path, ['readers', 0, 'tokenSha256']);
  // a file without readers (the ingest-only format) still loads
  assert.equal(new TokenIndex(TokenFileSchema.parse({ clusters: [] })).readerCount, 0);
});
