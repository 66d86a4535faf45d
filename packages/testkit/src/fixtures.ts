import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/ of the repository: testkit sits in packages/testkit (src/ or dist/). */
const PACKAGES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The path of a shared test fixture, kept in the one package that owns it (`src/testdata` of
 * packages/<owner>): the flow log samples in parsers, the cluster dumps and kube-meta records in
 * attribution. Other packages' tests read them from there instead of holding byte-identical copies.
 */
export function fixturePath(owner: 'parsers' | 'attribution', rel: string): string {
  return path.join(PACKAGES, owner, 'src', 'testdata', rel);
}
