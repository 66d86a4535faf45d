import { z } from 'zod';

/**
 * Source configuration of one tenant's cloud account, as embedded in the collector's config
 * file. Secrets (keys, connection strings, SAS tokens, client secrets) are plain strings here
 * because the collector resolves them from its secret store before validation; they are never
 * echoed back: validation messages name the field's path, never its value.
 */

const tenant = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _, at most 63');
/** S3/GCS prefixes end with `/` or are empty, never start with one */
const prefix = z.string().regex(/^(?:[^/].*\/)?$/, 'empty, or a path that does not start with / and ends with /');
const lookbackHours = z.number().int().min(1).max(24 * 14);
const skewSeconds = z.number().int().min(0).max(86_400);
const secret = z.string().min(1);
/**
 * Azure subscription, tenant and client ids are GUIDs: any 8-4-4-4-12 hex digits. Not z.uuid(),
 * which checks RFC 4122's version and variant nibbles and so refuses real ids (version 0 and others).
 */
const guid = z.guid('a GUID: 8-4-4-4-12 hex digits');

export const AwsStaticKeysSchema = z.strictObject({
  accessKeyId: z.string().min(1),
  secretAccessKey: secret,
  sessionToken: secret.optional(),
});

export const AwsSourceSchema = z
  .strictObject({
    cloud: z.literal('aws'),
    tenant,
    accountId: z.string().regex(/^\d{12}$/, '12 digits'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
    /** the flow log's own prefix, before `AWSLogs/` */
    prefix: prefix.default(''),
    /** `plain` = AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/, `hive` = Hive-compatible partitions */
    layout: z.enum(['plain', 'hive']).default('plain'),
    /** the tenant's role, assumed with its external id; absent only in development */
    roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN').optional(),
    externalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, '2 to 1224 characters of [\\w+=,.@:/-]').optional(),
    sessionDurationSeconds: z.number().int().min(900).max(43_200).default(3600),
    /**
     * development only: keys used as they are (no role), or as the identity that assumes the
     * role; in production the collector's own identity comes from the SDK's default chain
     */
    staticCredentials: AwsStaticKeysSchema.optional(),
    /** SQS queue receiving the bucket's ObjectCreated notifications */
    sqsQueueUrl: z.url().optional(),
    /** emulator endpoint (moto); path-style addressing is used with it */
    endpoint: z.url().optional(),
    lookbackHours: lookbackHours.default(6),
    skewSeconds: skewSeconds.default(900),
  })
  .superRefine((c, ctx) => {
    if (c.roleArn !== undefined && c.externalId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'required with roleArn: the role is assumed with the tenant\'s external id' });
    }
    if (c.roleArn === undefined && c.staticCredentials === undefined) {
      ctx.addIssue({ code: 'custom', path: ['roleArn'], message: 'give roleArn and externalId (or staticCredentials in development)' });
    }
  });
export type AwsSourceConfig = z.infer<typeof AwsSourceSchema>;

export const GcpCredentialsSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('service-account-key'),
    /** the key file's JSON text (from the secret store) */
    keyJson: secret,
  }),
  z.strictObject({
    /** the collector's own identity (ADC) impersonates the tenant's service account */
    type: z.literal('impersonation'),
    targetServiceAccount: z.email(),
    delegates: z.array(z.email()).default([]),
    lifetimeSeconds: z.number().int().min(300).max(43_200).default(3600),
  }),
  z.strictObject({
    /** fake-gcs-server: a custom apiEndpoint makes the client skip Google auth */
    type: z.literal('emulator'),
  }),
]);

export const GcpSourceSchema = z
  .strictObject({
    cloud: z.literal('gcp'),
    tenant,
    projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'a GCS bucket name'),
    /** the sink's log directory: `LOG_ID/` with the `%2F` of logName as a real `/` */
    prefix: prefix.default('compute.googleapis.com/vpc_flows/'),
    credentials: GcpCredentialsSchema,
    apiEndpoint: z.url().optional(),
    /** GCP exports can be hours late: late shards land in yesterday's folder */
    lookbackHours: lookbackHours.default(30),
    skewSeconds: skewSeconds.default(600),
  })
  .superRefine((c, ctx) => {
    if (c.credentials.type === 'emulator' && c.apiEndpoint === undefined) {
      ctx.addIssue({ code: 'custom', path: ['apiEndpoint'], message: 'required with credentials.type "emulator"' });
    }
  });
export type GcpSourceConfig = z.infer<typeof GcpSourceSchema>;

export const AzureCredentialsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('connection-string'), connectionString: secret }),
  /** a container- or account-level SAS token (with or without the leading `?`) */
  z.strictObject({ type: z.literal('sas'), sasToken: secret }),
  z.strictObject({
    type: z.literal('service-principal'),
    tenantId: guid,
    clientId: guid,
    clientSecret: secret,
  }),
]);

export const AzureSourceSchema = z.strictObject({
  cloud: z.literal('azure'),
  tenant,
  subscriptionId: guid,
  storageAccount: z.string().regex(/^[a-z0-9]{3,24}$/, '3 to 24 lower-case letters and digits'),
  containers: z
    .strictObject({
      nsg: z.string().min(3).max(63).nullable().default('insights-logs-networksecuritygroupflowevent'),
      vnet: z.string().min(3).max(63).nullable().default('insights-logs-flowlogflowevent'),
    })
    .default({ nsg: 'insights-logs-networksecuritygroupflowevent', vnet: 'insights-logs-flowlogflowevent' }),
  credentials: AzureCredentialsSchema,
  /** blob endpoint override (Azurite: http://127.0.0.1:10000/devstoreaccount1) */
  endpoint: z.url().optional(),
  /** PT1H.json blobs of the last hours are re-checked for new blocks */
  lookbackHours: lookbackHours.default(3),
  /**
   * How often the containers are walked again for new flow-log resources (the folders above `y=`:
   * an NSG, a NIC, a VNet flow log). 0, the default: at every poll, so a new flow log is read at the
   * next poll. A storage account with very many resources can set minutes to save list calls; a
   * new resource is then read up to that much later.
   */
  resourceRescanSeconds: z.number().int().min(0).max(86_400).default(0),
});
export type AzureSourceConfig = z.infer<typeof AzureSourceSchema>;

export const SourceConfigSchema = z.discriminatedUnion('cloud', [AwsSourceSchema, GcpSourceSchema, AzureSourceSchema]);
export type SourceConfig = z.infer<typeof SourceConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly where: string, readonly issues: string[]) {
    super(`${where}: invalid source config: ${issues.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Path of a zod issue as `a.b[0].c`. */
const pathOf = (base: string, path: readonly PropertyKey[]) =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}${acc === '' ? '' : '.'}${String(p)}`), base);

/** Edit distance, bounded: only small distances matter for a "did you mean". */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known key an unknown one was probably meant to be: same letters ignoring case, or at most 2 edits away. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same !== undefined) return same;
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (d < bestD) { bestD = d; best = k; }
  }
  return best;
}

/**
 * Per-parse error map of every configuration schema: an unknown key's message suggests the known
 * key of that object it is closest to. The object schema (`iss.inst`) is only available here, so
 * the message is made now: one line per unknown key, in the order of `iss.keys` (see issueLines).
 */
export const configErrorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code !== 'unrecognized_keys') return undefined;
  const shape = (iss.inst?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
  return iss.keys.map((k) => {
    const s = suggestKey(k, Object.keys(shape));
    return `unknown key${s !== undefined ? ` (did you mean ${s}?)` : ''}`;
  }).join('\n');
};

/**
 * Issues as `path: message` lines, one per unknown key (`sources[2].roleARN: unknown key (did you
 * mean roleArn?)`). Messages only, never the received value, which may be a secret.
 */
export function issueLines(issues: readonly z.core.$ZodIssue[], base = ''): string[] {
  const out: string[] = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') {
      const msgs = i.message.split('\n');
      i.keys.forEach((k, j) => out.push(`${pathOf(base, [...i.path, k])}: ${msgs.length === i.keys.length ? msgs[j]! : 'unknown key'}`));
    } else out.push(`${pathOf(base, i.path) || '(root)'}: ${i.message}`);
  }
  return out;
}

/**
 * Validates one source; `where` is its place in the collector's config (e.g. `sources[3]`).
 * Messages name the path (`sources[3].credentials.tenantId: a GUID`) and never the value.
 */
export function parseSourceConfig(value: unknown, where = 'source'): SourceConfig {
  const r = SourceConfigSchema.safeParse(value, { reportInput: false, error: configErrorMap });
  if (r.success) return r.data;
  throw new ConfigError(where, issueLines(r.error.issues, where));
}
