import { z } from 'zod';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the local real services listen (started by `pnpm infra:up`). Every address can be
 * overridden by environment, so the same tests run against services started another way
 * (docker compose, a CI service container).
 */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const EnvSchema = z.object({
  SIGHTLINE_DATA_DIR: z.string().default(path.join(REPO_ROOT, '.data')),
  SIGHTLINE_KAFKA_BROKERS: z.string().default('127.0.0.1:9092'),
  /** the local broker's SASL_SSL (PLAIN, SCRAM-SHA-512) and SSL-with-client-certificate listeners */
  SIGHTLINE_KAFKA_SASL_BROKERS: z.string().default('127.0.0.1:9094'),
  SIGHTLINE_KAFKA_MTLS_BROKERS: z.string().default('127.0.0.1:9095'),
  /** its throw-away CA, client certificate and SASL passwords (infra/local/services/kafka.sh); default <data dir>/kafka-auth */
  SIGHTLINE_KAFKA_AUTH_DIR: z.string().optional(),
  SIGHTLINE_CLICKHOUSE_URL: z.string().url().default('http://127.0.0.1:8123'),
  SIGHTLINE_S3_ENDPOINT: z.string().url().default('http://127.0.0.1:5000'),
  SIGHTLINE_GCS_ENDPOINT: z.string().url().default('http://127.0.0.1:4443'),
  SIGHTLINE_AZURE_BLOB_ENDPOINT: z.string().url().default('http://127.0.0.1:10000/devstoreaccount1'),
  SIGHTLINE_KUBECONFIG: z.string().optional(),
  SIGHTLINE_KUBE_CREDENTIALS_DIR: z.string().optional(),
  SIGHTLINE_CACHE_DIR: z.string().optional(),
  XDG_CACHE_HOME: z.string().optional(),
});

/**
 * The kubeconfig of the local kube-apiserver. `infra.sh` keeps it with the CA and token in the
 * machine's cache, shared by every clone (a second clone reaches the apiserver the first started);
 * a `.data/kubernetes/kubeconfig` (docker compose, or a clone from before the move) is the fallback.
 */
function kubeconfigPath(e: z.infer<typeof EnvSchema>): string {
  if (e.SIGHTLINE_KUBECONFIG) return e.SIGHTLINE_KUBECONFIG;
  const cache = e.SIGHTLINE_CACHE_DIR || path.join(e.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'sightline');
  const shared = path.join(e.SIGHTLINE_KUBE_CREDENTIALS_DIR || path.join(cache, 'kubernetes', 'credentials'), 'kubeconfig');
  const local = path.join(e.SIGHTLINE_DATA_DIR, 'kubernetes', 'kubeconfig');
  return !fs.existsSync(shared) && fs.existsSync(local) ? local : shared;
}

/**
 * The files of the local broker's secured listeners. Users: `sightline` (SCRAM-SHA-512) and
 * `sightline-plain` (PLAIN); `untrustedCaFile` is a CA the broker's certificate is not signed by.
 */
function kafkaAuth(dir: string) {
  return {
    dir,
    caFile: path.join(dir, 'ca.crt'),
    certFile: path.join(dir, 'client.crt'),
    keyFile: path.join(dir, 'client.key'),
    untrustedCaFile: path.join(dir, 'untrusted-ca.crt'),
    scramUser: 'sightline',
    scramPasswordFile: path.join(dir, 'scram-password'),
    plainUser: 'sightline-plain',
    plainPasswordFile: path.join(dir, 'plain-password'),
  };
}

export function endpoints(env: NodeJS.ProcessEnv = process.env) {
  const e = EnvSchema.parse(env);
  return {
    repoRoot: REPO_ROOT,
    dataDir: e.SIGHTLINE_DATA_DIR,
    kafkaBrokers: e.SIGHTLINE_KAFKA_BROKERS.split(',').map((s) => s.trim()).filter(Boolean),
    kafkaSaslBrokers: e.SIGHTLINE_KAFKA_SASL_BROKERS.split(',').map((s) => s.trim()).filter(Boolean),
    kafkaMtlsBrokers: e.SIGHTLINE_KAFKA_MTLS_BROKERS.split(',').map((s) => s.trim()).filter(Boolean),
    kafkaAuth: kafkaAuth(e.SIGHTLINE_KAFKA_AUTH_DIR ?? path.join(e.SIGHTLINE_DATA_DIR, 'kafka-auth')),
    clickhouseUrl: e.SIGHTLINE_CLICKHOUSE_URL,
    s3Endpoint: e.SIGHTLINE_S3_ENDPOINT,
    gcsEndpoint: e.SIGHTLINE_GCS_ENDPOINT,
    azureBlobEndpoint: e.SIGHTLINE_AZURE_BLOB_ENDPOINT,
    kubeconfig: kubeconfigPath(e),
  };
}

export type Endpoints = ReturnType<typeof endpoints>;
