/**
 * Bundles the console (esbuild, no CDN): hashed JavaScript and CSS under dist/www, an index.html
 * without inline script or style (the api serves it with a strict CSP), and manifest.json naming
 * the hashed files (cached for good) and the first load's gzip size, which is printed and held to
 * the budget: a build over it fails.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** First load budget, gzip JavaScript (issue 14). */
export const JS_GZIP_BUDGET = 300 * 1024;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'www');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: { app: path.join(root, 'src', 'main.tsx') },
  bundle: true,
  format: 'esm',
  splitting: false,
  minify: true,
  sourcemap: 'linked',
  target: ['chrome109', 'firefox115', 'safari16'],
  outdir: out,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  metafile: true,
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

const files = Object.keys(result.metafile.outputs).map((f) => path.relative(out, path.resolve(f)));
const js = files.filter((f) => f.endsWith('.js'));
const css = files.filter((f) => f.endsWith('.css'));
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Sightline</title>
${css.map((f) => `<link rel="stylesheet" href="${f}">`).join('\n')}
${js.map((f) => `<script type="module" src="${f}"></script>`).join('\n')}
</head>
<body><div id="app"></div></body>
</html>
`;
writeFileSync(path.join(out, 'index.html'), html);
const jsGzipBytes = js.reduce((n, f) => n + gzipSync(readFileSync(path.join(out, f)), { level: 9 }).length, 0);
const cssGzipBytes = css.reduce((n, f) => n + gzipSync(readFileSync(path.join(out, f)), { level: 9 }).length, 0);
writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ hashed: files, index: 'index.html', jsGzipBytes }, null, 2) + '\n');
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
process.stdout.write(`console: first load ${kb(jsGzipBytes)} gzip JavaScript (budget ${kb(JS_GZIP_BUDGET)}), ${kb(cssGzipBytes)} gzip CSS; ${js.join(', ')}\n`);
if (jsGzipBytes > JS_GZIP_BUDGET) {
  process.stderr.write(`console: the first load is over its budget: ${kb(jsGzipBytes)} > ${kb(JS_GZIP_BUDGET)} gzip\n`);
  process.exit(1);
}
