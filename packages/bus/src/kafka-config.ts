import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * How every Sightline process reaches Kafka: the brokers, the topic prefix, and the security of a
 * managed Kafka (MSK, Confluent Cloud, Aiven): TLS with an optional client certificate, and SASL
 * PLAIN, SCRAM or AWS MSK IAM. The collector, the enricher and the API extend this schema with
 * their own knobs (consumer group, partitions), so the shared part is written and validated once.
 *
 * Secrets are never in the config itself: a password comes from a file (a mounted Secret) or an
 * environment variable, read when the client is made (`resolveKafkaSecrets`), and neither the
 * value nor a message quoting it ever reaches a log line, an error or a metric.
 */

export const KafkaBrokers = z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port')).min(1);

export const KafkaSslSchema = z
  .strictObject({
    /** PEM file of the CA(s) that signed the brokers' certificates; absent: Node's built-in public CAs */
    caFile: z.string().min(1).optional(),
    /** PEM client certificate, for brokers that require one (mTLS); with keyFile */
    certFile: z.string().min(1).optional(),
    /** PEM private key of certFile (unencrypted; mount it from a Secret) */
    keyFile: z.string().min(1).optional(),
    /** name checked against the broker's certificate (and sent as SNI) instead of each broker's host */
    servername: z.string().min(1).optional(),
    /** false accepts any certificate: for a test broker only, never in production */
    rejectUnauthorized: z.boolean().default(true),
  })
  .superRefine((s, ctx) => {
    if ((s.certFile === undefined) !== (s.keyFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: [s.certFile === undefined ? 'certFile' : 'keyFile'], message: 'certFile and keyFile go together (the client certificate and its key)' });
    }
  });
export type KafkaSslConfig = z.infer<typeof KafkaSslSchema>;

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

const PasswordSasl = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string().min(1),
  /** file holding the password (a trailing newline is ignored) */
  passwordFile: z.string().min(1).optional(),
  /** environment variable holding the password */
  passwordEnv: EnvName.optional(),
});

const MskIamSasl = z.strictObject({
  /** AWS MSK IAM: OAUTHBEARER with a token signed from the AWS SDK's default credential chain */
  mechanism: z.literal('aws-msk-iam'),
  /** the cluster's region (the token is signed for kafka.<region>.amazonaws.com) */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as eu-west-1'),
  /** a profile of the shared config/credentials files; absent: the chain's default (env, IRSA, ECS, instance role...) */
  profile: z.string().min(1).optional(),
});

export const KafkaSaslSchema = z
  .discriminatedUnion('mechanism', [PasswordSasl, MskIamSasl])
  .superRefine((s, ctx) => {
    if (s.mechanism === 'aws-msk-iam') return;
    if ((s.passwordFile === undefined) === (s.passwordEnv === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give the password as exactly one of passwordFile or passwordEnv (never inline)' });
    }
  });
export type KafkaSaslConfig = z.infer<typeof KafkaSaslSchema>;

/** The shared fields; services add theirs with `extendKafkaConfig`. */
export const KafkaConfigShape = z.strictObject({
  brokers: KafkaBrokers,
  clientId: z.string().min(1).default('sightline'),
  /** prefix of every topic name (tests use a unique one) */
  topicPrefix: z.string().regex(/^[a-zA-Z0-9._-]*$/).default('sightline.'),
  /** TLS to the brokers; `{}` is TLS with the built-in public CAs. Absent: plain TCP */
  ssl: KafkaSslSchema.optional(),
  /** SASL authentication (over TLS when `ssl` is set, which every managed Kafka requires) */
  sasl: KafkaSaslSchema.optional(),
  /** a TCP + TLS connection to a broker must be up within this */
  connectionTimeoutMs: z.number().int().min(100).max(120_000).default(3000),
  /** the SASL exchange must finish within this */
  authenticationTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

function kafkaConfigChecks(k: { ssl?: unknown; sasl?: { mechanism: string } | undefined }, ctx: z.RefinementCtx): void {
  if (k.sasl?.mechanism === 'aws-msk-iam' && k.ssl === undefined) {
    ctx.addIssue({ code: 'custom', path: ['ssl'], message: 'aws-msk-iam needs TLS: set ssl (`{}` for MSK, whose certificates are publicly trusted)' });
  }
}

export const KafkaConfigSchema = KafkaConfigShape.superRefine(kafkaConfigChecks);

/**
 * A service's `kafka` section: the shared fields plus its own (consumer group, partitions), and
 * other defaults for shared ones (its clientId). Strict like the rest: an unknown key is an error.
 */
export function extendKafkaConfig<T extends z.core.$ZodLooseShape>(own: T) {
  return KafkaConfigShape.extend(own).superRefine(kafkaConfigChecks);
}
/**
 * The `kafka` section of a pipeline stage whose instances share work in a consumer group (collector,
 * enricher): clientId and group named after the service, the flows topic's partition count and the
 * group's session timeout, written once here; `own` adds the service's topics (in the middle, so
 * the generated config reference keeps its order).
 */
export function groupKafkaConfig<T extends z.core.$ZodLooseShape>(service: string, own: T) {
  return extendKafkaConfig({
    clientId: z.string().min(1).default(`sightline-${service}`),
    flowsPartitions: z.number().int().min(1).default(6),
    ...own,
    /** consumer group of the service's instances sharing the work */
    group: z.string().min(1).default(`sightline-${service}`),
    /** a member silent this long is declared dead and its share of the work moves to the others */
    sessionTimeoutMs: z.number().int().min(6000).max(300_000).default(30_000),
  });
}
export type KafkaConfig = z.infer<typeof KafkaConfigSchema>;
/** What a caller may write (defaults not applied yet). */
export type KafkaConfigInput = z.input<typeof KafkaConfigSchema>;

/**
 * A config problem found when the client is made (a password file that cannot be read, an
 * environment variable that is not set). The message names the config path and the file or
 * variable, never a value.
 */
export class KafkaConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaConfigError';
  }
}

export interface ResolvedTls {
  ca?: string[];
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

export type ResolvedSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'aws-msk-iam'; region: string; profile?: string };

function readPem(file: string, path: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new KafkaConfigError(`${path}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** A password from its file or variable; a file's trailing newline (echo, kubectl) is not part of it. */
function readPassword(s: { passwordFile?: string; passwordEnv?: string }, env: NodeJS.ProcessEnv): string {
  let v: string;
  if (s.passwordFile !== undefined) {
    try {
      v = readFileSync(s.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new KafkaConfigError(`kafka.sasl.passwordFile: cannot read ${s.passwordFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (v === '') throw new KafkaConfigError(`kafka.sasl.passwordFile: ${s.passwordFile} is empty`);
    return v;
  }
  const name = s.passwordEnv!;
  v = env[name] ?? '';
  if (v === '') throw new KafkaConfigError(`kafka.sasl.passwordEnv: environment variable ${name} is not set or empty`);
  return v;
}

/** Reads the files and variables the config names: TLS material and the SASL password. */
export function resolveKafkaSecrets(cfg: KafkaConfig, env: NodeJS.ProcessEnv = process.env): { tls?: ResolvedTls; sasl?: ResolvedSasl } {
  let tls: ResolvedTls | undefined;
  if (cfg.ssl) {
    tls = { rejectUnauthorized: cfg.ssl.rejectUnauthorized };
    if (cfg.ssl.caFile) tls.ca = [readPem(cfg.ssl.caFile, 'kafka.ssl.caFile')];
    if (cfg.ssl.certFile) tls.cert = readPem(cfg.ssl.certFile, 'kafka.ssl.certFile');
    if (cfg.ssl.keyFile) tls.key = readPem(cfg.ssl.keyFile, 'kafka.ssl.keyFile');
    if (cfg.ssl.servername) tls.servername = cfg.ssl.servername;
  }
  let sasl: ResolvedSasl | undefined;
  if (cfg.sasl) {
    sasl = cfg.sasl.mechanism === 'aws-msk-iam'
      ? { mechanism: 'aws-msk-iam', region: cfg.sasl.region, ...(cfg.sasl.profile ? { profile: cfg.sasl.profile } : {}) }
      : { mechanism: cfg.sasl.mechanism, username: cfg.sasl.username, password: readPassword(cfg.sasl, env) };
  }
  return { ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) };
}

/** How the config reaches the brokers, for logs and errors: never a secret. */
export function describeKafkaSecurity(cfg: KafkaConfig): string {
  const proto = cfg.ssl ? (cfg.sasl ? 'SASL_SSL' : 'SSL') : cfg.sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
  const parts = [proto];
  if (cfg.sasl) parts.push(cfg.sasl.mechanism === 'aws-msk-iam' ? `aws-msk-iam (${cfg.sasl.region})` : `${cfg.sasl.mechanism} as ${cfg.sasl.username}`);
  if (cfg.ssl?.certFile) parts.push('client certificate');
  return parts.join(', ');
}
