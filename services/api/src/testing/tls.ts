import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestTls {
  dir: string;
  certFile: string;
  keyFile: string;
  /** the certificate is its own CA: an agent trusts it through its caFile */
  caFile: string;
  ca: Buffer;
  remove(): void;
}

/**
 * A throw-away self-signed certificate for 127.0.0.1 and localhost, made with openssl at test
 * time so no private key is ever committed.
 */
export function makeTestTls(): TestTls {
  const dir = mkdtempSync(path.join(tmpdir(), 'sightline-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=sightline-test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { dir, certFile, keyFile, caFile: certFile, ca: readFileSync(certFile), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
