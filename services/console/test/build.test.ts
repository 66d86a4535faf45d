import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { consoleAssetsDir, readConsoleManifest } from '@sightline/console';

/** The first load's budget (issue 14): 300 KB of gzip JavaScript, measured on the build's own files. */
test('the built console loads at most 300 KB of gzip JavaScript, from hashed files, with no inline script', () => {
  const dir = consoleAssetsDir();
  const manifest = readConsoleManifest(dir);
  assert.ok(manifest, `built (${dir}): pnpm -C services/console build`);
  const html = readFileSync(path.join(dir, manifest.index), 'utf8');
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  assert.ok(scripts.length >= 1);
  for (const s of scripts) assert.match(s, /\ssrc="[^"]+-[A-Z0-9]{8}\.js"/, `every script is a hashed file: ${s}`);
  assert.doesNotMatch(html, /<script\b[^>]*>[^<]+<\/script>|<style|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler');
  const loaded = scripts.map((s) => /src="([^"]+)"/.exec(s)![1]!);
  const gzip = loaded.reduce((n, f) => n + gzipSync(readFileSync(path.join(dir, f)), { level: 9 }).length, 0);
  assert.equal(gzip, manifest.jsGzipBytes, 'the manifest counts what index.html loads');
  assert.ok(gzip <= 300 * 1024, `first load ${(gzip / 1024).toFixed(1)} KB gzip`);
  process.stdout.write(`# console first load: ${(gzip / 1024).toFixed(1)} KB gzip JavaScript\n`);
});
