import fs from 'node:fs';
import path from 'node:path';

/**
 * The collector for local files: every regular file under each source, in key order (flow-log
 * keys sort by time, as a bucket listing returns them). Hidden files and READMEs are not objects.
 */
export function listLocalObjects(roots: readonly string[]): string[] {
  const out = new Set<string>();
  for (const root of roots) {
    let st: fs.Stats;
    try {
      st = fs.statSync(root);
    } catch {
      throw new Error(`source ${root}: no such file or folder`);
    }
    if (st.isFile()) {
      out.add(root);
      continue;
    }
    for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || e.name.startsWith('.') || e.name.endsWith('.md')) continue;
      out.add(path.join(e.parentPath, e.name));
    }
  }
  return [...out].sort();
}
