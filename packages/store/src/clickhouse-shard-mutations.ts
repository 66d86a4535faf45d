import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { quoteIdent, quoteString } from './clickhouse-sql.js';

/**
 * Cluster mode: a mutation (`ALTER TABLE … DELETE WHERE …`, retention's) sent WITHOUT `ON CLUSTER`
 * to one replica of each replica set of the table, over HTTP to that node.
 *
 * Why not `ON CLUSTER`: on 18.16 the DDL worker of a Replicated table's ALTER elects one replica
 * per shard to run it and the others mark the shard done; two replicas of a shard can both create
 * `…/shards/<shard>/executed`, and the loser's DDL worker thread dies on "Node exists" and never runs
 * a DDL task again (seen in CI: every later ON CLUSTER statement then waited out its 180 s timeout).
 * A mutation of a Replicated table is written to the table's ZooKeeper path and each replica of the
 * set runs it from there, so one node per set is enough; a table that is not Replicated on a node
 * (none in the store's cluster layout) gets the mutation on that node itself.
 *
 * Which node holds which replica set is asked of the nodes (system.replicas' zookeeper_path), and
 * every shard of the cluster (system.clusters) must be reached through one of them, else the call
 * fails and nothing is left half-known: the next retention run tries again.
 */

/** An HTTP(S) URL of one node, without credentials (they come from the store's username/password). */
export const NodeUrlSchema = z
  .string()
  .url()
  // zod runs these after a failed .url() too: a string that is no URL fails here without throwing
  .refine((u) => /^https?:$/.test(URL.parse(u)?.protocol ?? ''), 'an http:// or https:// URL')
  .refine((u) => !URL.parse(u)?.username && !URL.parse(u)?.password, 'no credentials in the URL: the store\'s username and password (or passwordFile) apply to every node');

/** One node's HTTP URL as messages name it: scheme, host and port only. */
const shown = (url: string): string => new URL(url).origin;

interface Reached {
  url: string;
  client: ClickHouseClient;
  /** the node's {shard} macro */
  shard: string;
  /** the table's ZooKeeper path on that node; '' when the table is not Replicated there */
  zk: string;
}

export interface ShardMutationsOptions {
  cluster: string;
  database: string;
  /** the store's own connection: where the cluster's layout (system.clusters) is read */
  entry: ClickHouseClient;
  /** the store's URL (its scheme and port are the default of the discovered nodes) */
  entryUrl: string;
  /** the nodes' HTTP URLs as configured (`clusterNodes`); absent: discovered, see `urls` */
  nodes?: readonly string[] | undefined;
  /** a connection to a node with the store's credentials and TLS settings */
  connect: (url: string) => ClickHouseClient;
  /** how long a mutation may take on every replica reached */
  timeoutMs?: number;
}

export class ShardMutations {
  private readonly clients = new Map<string, ClickHouseClient>();
  private readonly timeoutMs: number;

  constructor(private readonly o: ShardMutationsOptions) {
    this.timeoutMs = o.timeoutMs ?? 120_000;
  }

  /**
   * The nodes' URLs: as configured, or each host of the cluster in system.clusters with the
   * store URL's scheme and port (every node on its own host with the same HTTP port, the usual
   * layout; where that does not hold, `clusterNodes` names them).
   */
  private async urls(): Promise<string[]> {
    if (this.o.nodes !== undefined) return [...new Set(this.o.nodes.map((u) => new URL(u).href))];
    const hosts = await this.rows<{ host_name: string }>(this.o.entry, `SELECT DISTINCT host_name FROM system.clusters WHERE cluster = ${quoteString(this.o.cluster)}`);
    const base = new URL(this.o.entryUrl);
    return hosts.map((h) => {
      const u = new URL(base.origin);
      u.hostname = h.host_name.includes(':') ? `[${h.host_name}]` : h.host_name;
      return u.href;
    });
  }

  private client(url: string): ClickHouseClient {
    let c = this.clients.get(url);
    if (c === undefined) this.clients.set(url, (c = this.o.connect(url)));
    return c;
  }

  private async rows<T>(c: ClickHouseClient, query: string): Promise<T[]> {
    return (await c.query({ query, format: 'JSONEachRow' })).json<T>();
  }

  private what(table: string): string {
    return `clickhouse ${this.o.database}.${table} on cluster ${this.o.cluster}`;
  }

  /**
   * Every node's shard and its replica set of `table`; fails unless each shard of the cluster is
   * reached (and every node, for a table that is not Replicated somewhere).
   */
  private async reach(table: string): Promise<Reached[]> {
    const [layout] = await this.rows<{ shards: string; nodes: string }>(
      this.o.entry,
      `SELECT uniqExact(shard_num) AS shards, count() AS nodes FROM system.clusters WHERE cluster = ${quoteString(this.o.cluster)}`,
    );
    const shards = Number(layout?.shards ?? 0);
    if (shards === 0) throw new Error(`${this.what(table)}: the store's node has no cluster ${this.o.cluster} in system.clusters`);
    const urls = await this.urls();
    const failed: string[] = [];
    const reached: Reached[] = [];
    await Promise.all(
      urls.map(async (url) => {
        try {
          const [r] = await this.rows<{ shard: string; zk: string; present: string }>(
            this.client(url),
            `SELECT (SELECT any(substitution) FROM system.macros WHERE macro = 'shard') AS shard,
              (SELECT any(zookeeper_path) FROM system.replicas WHERE database = ${quoteString(this.o.database)} AND table = ${quoteString(table)}) AS zk,
              (SELECT count() FROM system.tables WHERE database = ${quoteString(this.o.database)} AND name = ${quoteString(table)}) AS present`,
          );
          if (!r || Number(r.present) === 0) failed.push(`${shown(url)}: no table ${table}`);
          else if (r.shard === '') failed.push(`${shown(url)}: no {shard} macro`);
          else reached.push({ url, client: this.client(url), shard: r.shard, zk: r.zk });
        } catch (e) {
          // the client's message names the node's answer or the socket error, never the credentials
          failed.push(`${shown(url)}: ${(e as Error).message}`);
        }
      }),
    );
    reached.sort((a, b) => urls.indexOf(a.url) - urls.indexOf(b.url));
    const seen = new Set(reached.map((r) => r.shard));
    const hint = this.o.nodes === undefined ? ' (nodes discovered from system.clusters with the store URL\'s port; set clusterNodes to each node\'s HTTP URL)' : ' (clusterNodes)';
    const detail = `reached ${reached.map((r) => `${shown(r.url)} (shard ${r.shard})`).join(', ') || 'none'}${failed.length > 0 ? `; not: ${failed.join('; ')}` : ''}`;
    if (seen.size < shards) throw new Error(`${this.what(table)}: ${seen.size} of its ${shards} shards reached${hint}: ${detail}`);
    if (reached.some((r) => r.zk === '') && reached.length < Number(layout!.nodes)) {
      throw new Error(`${this.what(table)}: not Replicated, so every node must be reached, ${reached.length} of ${layout!.nodes} were${hint}: ${detail}`);
    }
    return reached;
  }

  /** The mutation ids under a Replicated table's ZooKeeper path (shared by every replica of the set). */
  private async mutationIds(c: ClickHouseClient, zk: string): Promise<Set<string>> {
    return new Set((await this.rows<{ name: string }>(c, `SELECT name FROM system.zookeeper WHERE path = ${quoteString(`${zk}/mutations`)}`)).map((r) => r.name));
  }

  /**
   * `ALTER TABLE <db>.<table> <action>` (e.g. `DELETE WHERE …`) on one node of each replica set of
   * the table, then waits until every replica reached has applied it. Returns the nodes it ran on.
   */
  async mutate(table: string, action: string): Promise<string[]> {
    const reached = await this.reach(table);
    const sets = new Map<string, Reached[]>();
    for (const r of reached) {
      const key = r.zk === '' ? `node ${r.url}` : r.zk;
      sets.set(key, [...(sets.get(key) ?? []), r]);
    }
    const sql = `ALTER TABLE ${quoteIdent(this.o.database)}.${quoteIdent(table)} ${action}`;
    const waits: { on: Reached[]; ids: Set<string> | undefined }[] = [];
    const ran: string[] = [];
    for (const members of sets.values()) {
      const errors: string[] = [];
      let done = false;
      // a replica that went away since it answered: the next one of its set takes the mutation
      for (const m of members) {
        try {
          const before = m.zk === '' ? undefined : await this.mutationIds(m.client, m.zk);
          await m.client.command({ query: sql });
          let ids: Set<string> | undefined;
          if (before !== undefined) {
            ids = new Set([...(await this.mutationIds(m.client, m.zk))].filter((id) => !before.has(id)));
          }
          waits.push({ on: m.zk === '' ? [m] : members, ids });
          ran.push(shown(m.url));
          done = true;
          break;
        } catch (e) {
          errors.push(`${shown(m.url)}: ${(e as Error).message}`);
        }
      }
      if (!done) throw new Error(`${this.what(table)}: the mutation failed on every replica of ${members[0]!.zk || shown(members[0]!.url)}: ${errors.join('; ')}`);
    }
    for (const w of waits) for (const m of w.on) await this.waitDone(table, m, w.ids);
    return ran;
  }

  /**
   * Until the node lists the mutations `ids` (Replicated: ZooKeeper's names, which every replica
   * lists once it has loaded them) as done; without ids, until it has none of the table not done.
   */
  private async waitDone(table: string, m: Reached, ids: Set<string> | undefined): Promise<void> {
    const base = `SELECT mutation_id, is_done FROM system.mutations WHERE database = ${quoteString(this.o.database)} AND table = ${quoteString(table)}`;
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const rows = await this.rows<{ mutation_id: string; is_done: number | string }>(m.client, ids === undefined ? `${base} AND is_done = 0` : base);
      const done = ids === undefined ? rows.length === 0 : [...ids].every((id) => rows.some((r) => r.mutation_id === id && Number(r.is_done) === 1));
      if (done) return;
      if (Date.now() > deadline) {
        throw new Error(`${this.what(table)}: the mutation is not done on ${shown(m.url)} (shard ${m.shard}) after ${this.timeoutMs / 1000} s`);
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }
}
