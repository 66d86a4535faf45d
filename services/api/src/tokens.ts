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
  })
  .superRefine((f, ctx) => {
    const seen = new Map<string, number>();
    f.clusters.forEach((c, i) => {
      const prev = seen.get(c.tokenSha256);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['clusters', i, 'tokenSha256'], message: `same token hash as clusters[${prev}]: one token per cluster` });
      seen.set(c.tokenSha256, i);
    });
  });
export type TokenFile = z.infer<typeof TokenFileSchema>;

export interface ClusterIdentity {
  tenant: string;
  cluster: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokenIndex {
  private readonly byHash: Map<string, ClusterIdentity>;

  constructor(file: TokenFile) {
    this.byHash = new Map(file.clusters.map((c) => [c.tokenSha256, { tenant: c.tenant, cluster: c.cluster }]));
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
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ ]+([\x21-\x7e]{16,4096})$/i.exec(header.trim());
  return m ? m[1]! : null;
}
