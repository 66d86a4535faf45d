import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ClusterScopeSchema } from '@sightline/attribution';
import { RetentionConfigSchema } from '@sightline/store';

/**
 * `sightline.json`: what the embedded pipeline reads. Paths are relative to the file's directory,
 * so the samples folder can be copied anywhere and still run.
 */
export const EmbeddedConfigSchema = z
  .object({
    /** every flow is written for this tenant, and the printed read token reads only it */
    tenant: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'lower-case letters, digits, dots and dashes'),
    clusters: z
      .array(
        z.object({
          name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a DNS label'),
          /** `kubectl get … -A -o json` dump of the cluster */
          kube: z.string().min(1),
          /** the cloud account and network its flows come from: the attribution looks a flow up only in clusters of its scope */
          scope: ClusterScopeSchema,
        }),
      )
      .min(1)
      .refine((cs) => new Set(cs.map((c) => c.name)).size === cs.length, 'cluster names must be unique'),
    /** folders (or files) walked for flow-log objects, as a bucket prefix would be listed */
    sources: z.array(z.string().min(1)).min(1),
    /** days kept per table (raw flows, each rollup), per tenant, and the schedule applying them while `sightline start` serves */
    retention: RetentionConfigSchema,
    api: z
      .object({
        host: z.literal('127.0.0.1').default('127.0.0.1'),
        /** 0: any free port */
        port: z.number().int().min(0).max(65535).default(0),
      })
      .prefault({}),
  })
  .strict();
export type EmbeddedConfig = z.output<typeof EmbeddedConfigSchema>;

export interface LoadedConfig {
  file: string;
  dir: string;
  config: EmbeddedConfig;
}

export function loadEmbeddedConfig(file: string): LoadedConfig {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`config ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = EmbeddedConfigSchema.safeParse(json);
  if (!r.success) throw new Error(`config ${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return { file, dir: path.dirname(path.resolve(file)), config: r.data };
}
