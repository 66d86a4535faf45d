import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { endpoints } from '@sightline/testkit';

/**
 * The local ClickHouse cluster of infra/local/services/clickhouse-cluster.sh (`pnpm infra:up
 * clickhouse-cluster`): cluster "sightline", shard 01 = n1 + n2 (replicas), shard 02 = n3.
 * SIGHTLINE_CLICKHOUSE_CLUSTER_URLS (n1,n2,n3) points the tests elsewhere.
 */
export const CLUSTER = 'sightline';
const urls = (process.env.SIGHTLINE_CLICKHOUSE_CLUSTER_URLS ?? 'http://127.0.0.1:8131,http://127.0.0.1:8132,http://127.0.0.1:8133').split(',');
export const NODES = [
  { name: 'n1', shard: 1, url: urls[0]! },
  { name: 'n2', shard: 1, url: urls[1]! },
  { name: 'n3', shard: 2, url: urls[2]! },
] as const;
export type NodeName = (typeof NODES)[number]['name'];

/** ON CLUSTER DDL waits for every node (a node just back works through its queue first): minutes, not the client's 30 s */
export function nodeClient(name: NodeName): ClickHouseClient {
  return createClient({ url: NODES.find((n) => n.name === name)!.url, request_timeout: 300_000, clickhouse_settings: { send_progress_in_http_headers: 1 } });
}

export async function q<T extends Record<string, unknown>>(c: ClickHouseClient, sql: string): Promise<T[]> {
  return (await c.query({ query: sql, format: 'JSONEachRow' })).json<T>();
}

/** Polls `check` until it returns true; the condition (not a fixed sleep) ends the wait. */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

/** Drops a test database from every node (its replicas leave ZooKeeper with it). */
export async function dropEverywhere(database: string): Promise<void> {
  const c = nodeClient('n1');
  try {
    await c.command({ query: `DROP DATABASE IF EXISTS ${database} ON CLUSTER ${CLUSTER}` });
  } finally {
    await c.close();
  }
}

/** Waits until each replicated table of the database on every node has fetched what its shard holds. */
export async function syncReplicas(database: string, tables: readonly string[]): Promise<void> {
  for (const n of NODES) {
    const c = nodeClient(n.name);
    try {
      for (const t of tables) await c.command({ query: `SYSTEM SYNC REPLICA ${database}.${t}` });
    } finally {
      await c.close();
    }
  }
}

/** The pid of a node's server (infra.sh keeps it in .data/chc-NAME.pid). */
export function nodePid(name: NodeName): number {
  return Number(readFileSync(path.join(endpoints().dataDir, `chc-${name}.pid`), 'utf8').trim());
}

/** `infra.sh up clickhouse-cluster`: starts whatever node is down, waits until it answers. */
export function clusterUp(): void {
  execFileSync('bash', [path.join(endpoints().repoRoot, 'infra/local/infra.sh'), 'up', 'clickhouse-cluster'], { stdio: ['ignore', 'ignore', 'pipe'] });
}
