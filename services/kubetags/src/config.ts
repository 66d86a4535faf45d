import { z } from 'zod';
import { ClusterName, DEFAULT_LABEL_ALLOW_LIST, TenantName } from '@sightline/kube-model';
import { ConfigFileError, loadServiceConfig } from '@sightline/config';

/** The agent's configuration file (JSON, mounted from a ConfigMap); the token comes from a file (a Secret). */
export const AgentConfigSchema = z.object({
  /** the cluster's name as registered in the backend; the token must belong to it */
  cluster: ClusterName,
  backend: z.object({
    /** base URL of the api service, https in production */
    url: z.url({ protocol: /^https?$/ }),
    tenant: TenantName,
    /** file holding the cluster token (mounted Secret); re-read on every 401 so a rotated token is picked up */
    tokenFile: z.string().min(1),
    /** CA bundle (PEM) to trust for the backend; absent: the system's CAs */
    caFile: z.string().min(1).optional(),
    timeoutMs: z.number().int().min(100).default(30_000),
  }),
  /** kubeconfig file; absent: the in-cluster service account */
  kubeconfig: z.string().min(1).optional(),
  /** pod labels kept in the reduced objects; everything else stays in the cluster */
  labelAllowList: z.array(z.string().min(1)).default(() => [...DEFAULT_LABEL_ALLOW_LIST]),
  list: z
    .object({
      /** page size of the lists (the API server's `limit`): bounds the memory of one response */
      pageSize: z.number().int().min(1).max(10_000).default(500),
    })
    .prefault({}),
  watch: z
    .object({
      /** the API server ends a watch after this; the agent resumes from the last resourceVersion */
      timeoutSeconds: z.number().int().min(10).max(3600).default(300),
    })
    .prefault({}),
  batch: z
    .object({
      /** objects per request (snapshot parts and deltas) */
      maxObjects: z.number().int().min(1).max(10_000).default(500),
      /** a delta waits at most this long for others to share its request */
      flushMs: z.number().int().min(0).max(60_000).default(1_000),
    })
    .prefault({}),
  buffer: z
    .object({
      /**
       * deltas held while the backend does not answer. Past it the deltas are dropped and a full
       * snapshot of the agent's current state replaces them: memory stays bounded, nothing is lost
       * but exact deletion times of that period.
       */
      maxObjects: z.number().int().min(1).default(50_000),
    })
    .prefault({}),
  retry: z
    .object({
      initialMs: z.number().int().min(1).default(500),
      maxMs: z.number().int().min(1).default(30_000),
    })
    .prefault({}),
  http: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(9090),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export function loadConfig(file: string): AgentConfig {
  try {
    // JSON or YAML; syntax errors by position and schema errors by place, never a value (packages/config)
    return loadServiceConfig(file, AgentConfigSchema);
  } catch (err) {
    throw err instanceof ConfigFileError ? new Error(`config ${file}: ${err.problems.join('; ')}`) : err;
  }
}
