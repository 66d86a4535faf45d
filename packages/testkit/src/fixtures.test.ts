import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fixturePath } from './fixtures.js';

const ROOT = path.resolve(fixturePath('parsers', ''), '../../../..');

/** Every file under a `testdata` folder of packages/ and services/ (not node_modules, dist). */
function fixtures(dir: string, inTestdata = false, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) fixtures(p, inTestdata || e.name === 'testdata', out);
    else if (inTestdata && e.isFile()) out.push(p);
  }
  return out;
}

// A fixture is kept once, by the package that owns it, and read from there (fixturePath): copies
// drift apart unnoticed, and the duplicate finder flags them.
test('no two test fixtures in the tree are byte-identical', () => {
  const seen = new Map<string, string[]>();
  for (const top of ['packages', 'services']) {
    for (const f of fixtures(path.join(ROOT, top))) {
      const h = createHash('sha256').update(fs.readFileSync(f)).digest('hex');
      seen.set(h, [...(seen.get(h) ?? []), path.relative(ROOT, f)]);
    }
  }
  const copies = [...seen.values()].filter((fs) => fs.length > 1);
  assert.deepEqual(copies, [], `byte-identical fixtures: ${copies.map((c) => c.join(' = ')).join('; ')}`);
});

test('fixturePath names the owner package\'s testdata', () => {
  assert.ok(fs.existsSync(fixturePath('parsers', 'aws/default-v2.log.gz')));
  assert.ok(fs.existsSync(fixturePath('attribution', 'eks.json')));
});
