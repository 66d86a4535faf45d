import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { consoleAssetsDir, readConsoleManifest } from '@sightline/console';
import { ApiMetrics } from './metrics.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';
import { CONSOLE_CSP, loadConsoleSite } from './console-static.js';
import { TokenIndex } from './tokens.js';

const deps = () => ({
  tokens: new TokenIndex({ clusters: [], readers: [] }),
  publisher: { publish: () => Promise.reject(new Error('no ingest in this test')) },
  metrics: new ApiMetrics(false),
  log: createLogger({ level: 'silent' }),
});
const opts = { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, maxInflatedBytes: 1 << 23, ready: () => true };

/**
 * The built console (services/console's dist/www, built by `pnpm build`) as the api serves it:
 * index revalidated, hashed files cached for good, gzip when asked, a strict CSP on every answer.
 */
test('the api serves the built console with caching headers and a strict Content-Security-Policy', async (t) => {
  const manifest = readConsoleManifest();
  assert.ok(manifest, `the console is built (${consoleAssetsDir()}); run pnpm -C services/console build`);
  const server = await startServer(deps(), opts);
  t.after(() => server.close());

  const root = await fetch(`${server.url}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/console/');

  const index = await fetch(`${server.url}/console/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const csp = index.headers.get('content-security-policy') ?? '';
  assert.equal(csp, CONSOLE_CSP);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no unsafe-inline, no other origin');
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(index.headers.get('referrer-policy'), 'no-referrer');
  const html = await index.text();
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');

  // revalidation: the same index answers 304 to its ETag
  const again = await fetch(`${server.url}/console/`, { headers: { 'if-none-match': index.headers.get('etag') ?? '' } });
  assert.equal(again.status, 304);

  const js = manifest.hashed.find((f) => f.endsWith('.js'));
  assert.ok(js && html.includes(`src="${js}"`), 'index.html loads the hashed bundle');
  const bundle = await fetch(`${server.url}/console/${js}`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(bundle.status, 200);
  assert.equal(bundle.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(bundle.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal(bundle.headers.get('content-security-policy'), CONSOLE_CSP);
  assert.ok((await bundle.arrayBuffer()).byteLength > 1000);

  const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
    import('node:http').then(({ get }) =>
      get(`${server.url}/console/${js}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      }).on('error', reject),
    );
  });
  assert.equal(raw.encoding, 'gzip');
  assert.ok(gunzipSync(raw.body).length > raw.body.length);

  for (const p of ['/console/nope.js', '/console/..%2Fpackage.json', '/console/../package.json']) {
    const r = await fetch(`${server.url}${p}`);
    assert.equal(r.status, 404, p);
  }
  const post = await fetch(`${server.url}/console/`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  // the API's own routes are untouched
  assert.equal((await fetch(`${server.url}/v1/openapi.json`)).status, 200);
});

test('a server without a console build answers 404 under /console/ and serves the API as before', async (t) => {
  const empty = mkdtempSync(path.join(tmpdir(), 'console-none-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  assert.equal(loadConsoleSite(empty), null);
  writeFileSync(path.join(empty, 'manifest.json'), JSON.stringify({ hashed: [], index: 'index.html', jsGzipBytes: 0 }));
  assert.throws(() => loadConsoleSite(empty), /index\.html is missing/);
  const server = await startServer(deps(), { ...opts, console: null });
  t.after(() => server.close());
  assert.equal((await fetch(`${server.url}/console/`)).status, 404);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});
