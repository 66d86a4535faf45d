import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ClusterName, TenantName } from '@sightline/kube-model';

/**
 * Per-cluster tokens. The file holds only sha256 hashes: whoever reads the config (or a backup
 * of it) cannot impersonate an agent, and nothing that could be logged holds a usable token.
 */
export const TokenFileSchema = z
  .object({
    clusters: z.array(
      z.object({
        tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 of the token, 64 lower-case hex digits'),
        tenant: TenantName,
        cluster: ClusterName,
      }),
    ),
    /** tenant read tokens (query API): read every cluster of one tenant, never ingest */
    readers: z
      .array(
        z.object({
          tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 of the token, 64 lower-case hex digits'),
          tenant: TenantName,
          /** who holds it (a dashboard, a team), for the logs */
          name: z.string().min(1).max(128).optional(),
        }),
      )
      .default([]),
  })
  .superRefine((f, ctx) => {
    // One hash, one kind: a token that could both ingest and read would turn an agent's leaked token into a data leak.
    const seen = new Map<string, string>();
    const check = (list: 'clusters' | 'readers', hash: string, i: number, what: string) => {
      const prev = seen.get(hash);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: [list, i, 'tokenSha256'], message: `same token hash as ${prev}: ${what}` });
      seen.set(hash, `${list}[${i}]`);
    };
    f.clusters.forEach((c, i) => check('clusters', c.tokenSha256, i, 'one token per cluster, and ingest and read tokens differ'));
    f.readers.forEach((r, i) => check('readers', r.tokenSha256, i, 'one token per reader, and ingest and read tokens differ'));
  });
export type TokenFile = z.infer<typeof TokenFileSchema>;

export interface ClusterIdentity {
  tenant: string;
  cluster: string;
}

export interface ReaderIdentity {
  tenant: string;
  name: string | undefined;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokenIndex {
  private byHash: Map<string, ClusterIdentity>;
  private readers: Map<string, ReaderIdentity>;

  constructor(file: z.input<typeof TokenFileSchema>) {
    this.byHash = new Map(file.clusters.map((c) => [c.tokenSha256, { tenant: c.tenant, cluster: c.cluster }]));
    this.readers = new Map((file.readers ?? []).map((r) => [r.tokenSha256, { tenant: r.tenant, name: r.name }]));
  }

  /** Reads and validates a token file; errors name the file and the bad entries, never a hash. */
  static fromFile(file: string): TokenIndex {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`tokens file ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const r = TokenFileSchema.safeParse(json);
    if (!r.success) throw new Error(`tokens file ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return new TokenIndex(r.data);
  }

  /**
   * Takes another index's tokens (a configuration reload): the server holds this one object, so
   * the next lookup sees the new set; a removed token stops working at once.
   */
  replace(next: TokenIndex): void {
    this.byHash = next.byHash;
    this.readers = next.readers;
  }

  get size(): number {
    return this.byHash.size;
  }

  /**
   * The cluster a bearer token belongs to, or null. The lookup is by hash, so its timing tells
   * nothing about how close a guess came to a real token.
   */
  lookup(token: string): ClusterIdentity | null {
    return this.byHash.get(hashToken(token)) ?? null;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  /**
   * What a token may do on the query API: read one tenant, or nothing because it is a cluster
   * (ingest) token, which gets 403 rather than 401 so the operator sees which token went where.
   */
  lookupReader(token: string): ReaderIdentity | 'ingest-token' | null {
    const h = hashToken(token);
    const r = this.readers.get(h);
    if (r) return r;
    return this.byHash.has(h) ? 'ingest-token' : null;
  }
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ ]+([\x21-\x7e]{16,4096})$/i.exec(header.trim());
  return m ? m[1]! : null;
}
