import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CONSOLE_PATH, consoleAssetsDir, readConsoleManifest } from '@sightline/console';

/**
 * The web console's files (services/console's build), served by the api process. Loaded once at
 * start into memory (a few hundred KB, gzip kept beside), so a request never touches the disk.
 * Hashed names are cached for good; index.html is revalidated every time (ETag), so a new build
 * is picked up at once. Every answer carries a strict Content-Security-Policy: scripts, styles and
 * connections from this origin only, no inline script or style, no framing.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  cache: string;
}

export interface ConsoleSite {
  /** answers a GET/HEAD under /console/ (or `/`); false when the path is not the console's */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** files served (for the start line) */
  files: number;
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** Loads the built console; null when it was not built (`pnpm -C services/console build`). */
export function loadConsoleSite(dir = consoleAssetsDir()): ConsoleSite | null {
  const manifest = readConsoleManifest(dir);
  if (manifest === null) return null;
  const hashed = new Set(manifest.hashed);
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (!statSync(file).isFile() || name === 'manifest.json') continue;
    const body = readFileSync(file);
    const type = TYPES[path.extname(name)] ?? 'application/octet-stream';
    const zipped = /^text|json|svg/.test(type) && body.length > 512 ? gzipSync(body, { level: 9 }) : null;
    assets.set(name, {
      body,
      gzip: zipped !== null && zipped.length < body.length ? zipped : null,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      cache: hashed.has(name) || (name.endsWith('.map') && hashed.has(name.slice(0, -4))) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  const index = assets.get(manifest.index);
  if (!index) throw new Error(`console: ${path.join(dir, manifest.index)} is missing from the build`);
  return {
    files: assets.size,
    handle(req, res) {
      const p = (req.url ?? '/').split('?')[0] ?? '/';
      if (p !== '/' && p !== '/console' && !p.startsWith(CONSOLE_PATH)) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: 'method', message: 'GET or HEAD' }) + '\n');
        return true;
      }
      if (p === '/' || p === '/console') {
        res.writeHead(302, { location: CONSOLE_PATH, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
        res.end();
        return true;
      }
      const name = p.slice(CONSOLE_PATH.length);
      const a = name === '' ? index : /^[A-Za-z0-9._-]+$/.test(name) ? assets.get(name) : undefined;
      if (!a) {
        const text = JSON.stringify({ error: 'not-found', message: `${p} is not a file of the console` }) + '\n';
        res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS });
        res.end(text);
        return true;
      }
      const headers: Record<string, string> = { 'content-type': a.type, 'cache-control': a.cache, etag: a.etag, vary: 'accept-encoding', ...SECURITY_HEADERS };
      if (req.headers['if-none-match'] === a.etag) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      const gz = a.gzip !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gz ? a.gzip! : a.body;
      if (gz) headers['content-encoding'] = 'gzip';
      headers['content-length'] = String(body.length);
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
