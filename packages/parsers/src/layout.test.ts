import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMATS } from './registry.js';

/**
 * The package's layout, checked: one folder per format, shared pieces only in core/, no import
 * cycle, no format importing another cloud's files, one FNV-1a, one interning class and one
 * byte-level JSON cursor, and the cloud list written out once in the repository.
 */

const src = dirname(fileURLToPath(import.meta.url));
const files = (d: string): string[] =>
  readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'testdata' ? [] : files(join(d, e.name))) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(d, e.name)] : []));
const SOURCES = files(src);
const rel = (f: string) => relative(src, f);

/** Relative imports of a file (values and types alike), as paths under src. */
function importsOf(f: string): string[] {
  const text = readFileSync(f, 'utf8');
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => rel(resolve(dirname(f), m[1]!) + '.ts'));
}

test('every registered format has its folder with a spec, and every format folder is registered', () => {
  const folders = readdirSync(join(src, 'formats'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const specs = new Set(SOURCES.filter((f) => f.endsWith('/spec.ts')).map((f) => rel(dirname(f)).replace(/^formats\//, '')));
  for (const f of FORMATS) assert.ok(specs.has(f.id) || specs.has(f.id.replace(/-(text|parquet)$/, '')), `${f.id}: a formats/ folder with spec.ts`);
  for (const d of folders) if (specs.has(d)) assert.ok(FORMATS.some((f) => f.id === d || f.id.startsWith(`${d}-`)), `formats/${d}: registered`);
});

test('no import cycle among the package files', () => {
  const graph = new Map(SOURCES.map((f) => [rel(f), importsOf(f)]));
  const state = new Map<string, 1 | 2>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 2) return;
    assert.notEqual(state.get(n), 1, `import cycle: ${[...path, n].join(' -> ')}`);
    state.set(n, 1);
    for (const m of graph.get(n) ?? []) visit(m, [...path, n]);
    state.set(n, 2);
  };
  for (const n of graph.keys()) visit(n, []);
});

test('a cloud\'s formats import no other cloud\'s files, and core/ imports no format', () => {
  const cloudOf = (p: string) => /^formats\/(aws|gcp|azure)-/.exec(p)?.[1];
  for (const f of SOURCES) {
    const from = rel(f);
    for (const to of importsOf(f)) {
      if (from.startsWith('core/')) assert.ok(!to.startsWith('formats/'), `${from} imports ${to}`);
      const a = cloudOf(from);
      const b = cloudOf(to);
      if (a !== undefined && b !== undefined) assert.equal(a, b, `${from} imports ${to}`);
    }
  }
});

test('FNV-1a written once, in core/intern.ts', () => {
  for (const f of SOURCES) {
    if (rel(f) === 'core/intern.ts') continue;
    const text = readFileSync(f, 'utf8');
    // its constants, or its step written out (the scanners call core's fnvStep)
    assert.ok(!/0x811c9dc5|16777619|0x01000193|Math\.imul\(\s*h\s*\^/.test(text), `${rel(f)} writes FNV-1a out again`);
  }
});

test('one interning class, core/intern.ts Interner', () => {
  const caches: string[] = [];
  for (const f of SOURCES) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\bclass (\w*(?:Intern\w*|Cache))\b/g)) caches.push(`${rel(f)}: ${m[1]}`);
  }
  assert.deepEqual(caches, ['core/intern.ts: Interner']);
  for (const f of SOURCES) {
    const text = readFileSync(f, 'utf8');
    // a Map used as a cache of strings or addresses is a cache of its own too
    assert.ok(!/new Map<string, string( \| null)?>\(\)/.test(text) || rel(f) === 'core/intern.ts', `${rel(f)} keeps a string cache of its own`);
  }
});

test('one byte-level JSON cursor: the fast readers extend core/json-cursor.ts and declare none of its pieces', () => {
  const readers = SOURCES.filter((f) => /class \w+FastReader\b/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(readers.map(rel).sort(), ['formats/azure-vnet/azure-vnet-fast.ts', 'formats/gcp-vpc-json/gcp-json-fast.ts']);
  for (const f of readers) assert.match(readFileSync(f, 'utf8'), /class \w+FastReader extends JsonCursor\b/, `${rel(f)} extends JsonCursor`);
  const pieces = /^\s*(?:private |protected )?(ws|open|eat|isNull|nextKey|skipValue|skipNumber|word|num|int|isJsonWs)\s*[(=]/m;
  for (const f of SOURCES.filter((f) => rel(f).startsWith('formats/'))) {
    const m = pieces.exec(readFileSync(f, 'utf8'));
    assert.equal(m, null, `${rel(f)} declares the JSON piece ${m?.[1]} of its own`);
  }
});

test('the cloud list is written out once in the repository (kube-model CLOUD_NAMES), and the registry has the same clouds', async () => {
  const { CLOUDS } = await import('@sightline/flow');
  assert.deepEqual([...new Set(FORMATS.map((f) => f.cloud))].sort(), [...CLOUDS].sort());
  const root = resolve(src, '../../..');
  const list = /(['"])(aws|gcp|azure)\1\s*[,|]\s*(['"])(aws|gcp|azure)\3\s*[,|]\s*(['"])(aws|gcp|azure)\5/;
  const found: string[] = [];
  for (const top of ['packages', 'services']) {
    for (const pkg of readdirSync(join(root, top))) {
      const dir = join(root, top, pkg, 'src');
      let names: string[];
      try {
        names = readdirSync(dir, { recursive: true }) as string[];
      } catch {
        continue;
      }
      for (const n of names) {
        if (!/\.tsx?$/.test(n) || /\.test\.tsx?$/.test(n) || n.split('/').includes('node_modules')) continue;
        if (list.test(readFileSync(join(dir, n), 'utf8'))) found.push(`${top}/${pkg}/src/${n}`);
      }
    }
  }
  assert.deepEqual(found, ['packages/kube-model/src/placement.ts']);
});

