import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { endpoints } from './endpoints.js';

// A reader of a clone has only the repository: every document a README cites must be in it. Two
// forms cite a file: a Markdown link `[text](path#anchor)`, and a Markdown file named in a code
// span (`services/cli/README.md`, relative to the citing file or to the repository root).
const ROOT = endpoints().repoRoot;

function markdownFiles(): string[] {
  // tracked and not-yet-committed files, without what .gitignore leaves out (node_modules, .data)
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.md'], { cwd: ROOT, encoding: 'utf8' });
  return [...new Set(out.split('\n').filter(Boolean))].filter((f) => fs.existsSync(path.join(ROOT, f))).sort();
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(file: string): Set<string> {
  const out = new Set<string>();
  for (const line of withoutFences(fs.readFileSync(file, 'utf8'))) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line.text);
    if (h) out.add(h[1]!.toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));
  }
  return out;
}

function withoutFences(text: string): { text: string; n: number }[] {
  const out: { text: string; n: number }[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) { fenced = !fenced; return; }
    if (!fenced) out.push({ text: line, n: i + 1 });
  });
  return out;
}

const inside = (p: string) => p === ROOT || p.startsWith(ROOT + path.sep);

/** What is wrong with one citation, or undefined when it resolves to a file of the repository. */
function check(from: string, target: string, bases: string[]): string | undefined {
  const [file, anchor] = target.split('#') as [string, string | undefined];
  let resolved = path.join(path.dirname(from), file);
  if (file !== '') {
    const found = bases.map((b) => path.resolve(b, decodeURIComponent(file))).find((p) => inside(p) && fs.existsSync(p));
    if (!found) {
      const outside = bases.map((b) => path.resolve(b, decodeURIComponent(file))).every((p) => !inside(p));
      return outside ? 'points outside the repository' : 'no such file in the repository';
    }
    resolved = found;
  } else {
    resolved = from;
  }
  if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor.toLowerCase())) return `no heading #${anchor} in ${path.relative(ROOT, resolved)}`;
  return undefined;
}

test('every relative link and cited Markdown file in the repository\'s *.md files is a file of the repository', () => {
  const files = markdownFiles();
  assert.ok(files.includes('README.md'), `found the Markdown files under ${ROOT}`);
  const bad: string[] = [];
  let checked = 0;
  for (const rel of files) {
    const abs = path.join(ROOT, rel);
    for (const { text, n } of withoutFences(fs.readFileSync(abs, 'utf8'))) {
      const prose = text.replace(/`[^`]*`/g, '');
      const targets: { target: string; bases: string[] }[] = [];
      // [text](target "title") and reference definitions [id]: target
      for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push({ target: m[1]!, bases: [path.dirname(abs)] });
      const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/.exec(prose);
      if (def) targets.push({ target: def[1]!, bases: [path.dirname(abs)] });
      // a Markdown file named in a code span: relative to the citing file or to the root
      for (const m of text.matchAll(/`([^`\s]+\.md(?:#[^`\s]*)?)`/g)) targets.push({ target: m[1]!, bases: [path.dirname(abs), ROOT] });
      for (const { target, bases } of targets) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        checked++;
        const why = check(abs, target, bases);
        if (why) bad.push(`${rel}:${n}: ${target}: ${why}`);
      }
    }
  }
  assert.ok(checked > 0, 'some citations were checked');
  assert.deepEqual(bad, [], `broken citations:\n${bad.join('\n')}`);
});
