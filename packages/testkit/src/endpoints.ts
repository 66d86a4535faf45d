import { z } from 'zod';
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
  SIGHTLINE_CLICKHOUSE_URL: z.string().url().default('http://127.0.0.1:8123'),
  SIGHTLINE_S3_ENDPOINT: z.string().url().default('http://127.0.0.1:5000'),
  SIGHTLINE_GCS_ENDPOINT: z.string().url().default('http://127.0.0.1:4443'),
  SIGHTLINE_AZURE_BLOB_ENDPOINT: z.string().url().default('http://127.0.0.1:10000/devstoreaccount1'),
  SIGHTLINE_KUBECONFIG: z.string().optional(),
});

export function endpoints(env: NodeJS.ProcessEnv = process.env) {
  const e = EnvSchema.parse(env);
  return {
    repoRoot: REPO_ROOT,
    dataDir: e.SIGHTLINE_DATA_DIR,
    kafkaBrokers: e.SIGHTLINE_KAFKA_BROKERS.split(',').map((s) => s.trim()).filter(Boolean),
    clickhouseUrl: e.SIGHTLINE_CLICKHOUSE_URL,
    s3Endpoint: e.SIGHTLINE_S3_ENDPOINT,
    gcsEndpoint: e.SIGHTLINE_GCS_ENDPOINT,
    azureBlobEndpoint: e.SIGHTLINE_AZURE_BLOB_ENDPOINT,
    kubeconfig: e.SIGHTLINE_KUBECONFIG ?? path.join(e.SIGHTLINE_DATA_DIR, 'kubernetes', 'kubeconfig'),
  };
}

export type Endpoints = ReturnType<typeof endpoints>;
