import kafkajs, { type Kafka, type KafkaConfig as KafkajsConfig, type RetryOptions, type SASLOptions } from 'kafkajs';
import { KafkaConfigSchema, describeKafkaSecurity, resolveKafkaSecrets, type KafkaConfig, type KafkaConfigInput } from './kafka-config.js';
import { defaultAwsCredentials, mskIamTokenProvider, type AwsCredentialProvider } from './msk-iam.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

/** The part of a pino logger the client writes to (kafkajs' own warnings and errors). */
export interface KafkaLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface KafkaClientOptions {
  /** kafkajs warnings and errors go here (structured); absent: kafkajs is silent */
  log?: KafkaLog;
  /** kafkajs' retry of each call; default rides out a broker restart (about a minute) */
  retry?: RetryOptions;
  requestTimeoutMs?: number;
  /** where passwordEnv is looked up (tests) */
  env?: NodeJS.ProcessEnv;
  /** AWS credentials for aws-msk-iam (tests); default: the SDK's default chain */
  awsCredentials?: AwsCredentialProvider;
}

/** A broker restart takes seconds to tens of seconds: retry long enough to ride it out. */
export const DEFAULT_KAFKA_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 5000, retries: 30 };

/** The connection part of a service's kafka config, defaults applied (its own keys, group and partitions, dropped). */
export function kafkaConnectionConfig(c: KafkaConfigInput): KafkaConfig {
  const { brokers, clientId, topicPrefix, ssl, sasl, connectionTimeoutMs, authenticationTimeoutMs } = c;
  const picked = Object.fromEntries(Object.entries({ brokers, clientId, topicPrefix, ssl, sasl, connectionTimeoutMs, authenticationTimeoutMs }).filter(([, v]) => v !== undefined));
  return KafkaConfigSchema.parse(picked, { reportInput: false });
}

/** Every occurrence of `secret` in `s` replaced: kafkajs and Node messages are not ours to trust. */
function redactor(secrets: string[]): (s: string) => string {
  const live = secrets.filter((x) => x.length >= 4);
  return (s) => live.reduce((acc, x) => acc.split(x).join('[redacted]'), s);
}

function kafkajsOptions(cfg: KafkaConfig, opts: KafkaClientOptions): { options: KafkajsConfig; redact: (s: string) => string } {
  const { tls, sasl } = resolveKafkaSecrets(cfg, opts.env);
  let saslOpts: SASLOptions | undefined;
  const secrets: string[] = [];
  if (sasl?.mechanism === 'aws-msk-iam') {
    saslOpts = { mechanism: 'oauthbearer', oauthBearerProvider: mskIamTokenProvider(sasl.region, opts.awsCredentials ?? defaultAwsCredentials(sasl.profile)) };
  } else if (sasl) {
    saslOpts = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
    secrets.push(sasl.password);
  }
  if (tls?.key) secrets.push(tls.key);
  const redact = redactor(secrets);
  const log = opts.log;
  const options: KafkajsConfig = {
    clientId: cfg.clientId,
    brokers: cfg.brokers,
    connectionTimeout: cfg.connectionTimeoutMs,
    authenticationTimeout: cfg.authenticationTimeoutMs,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    retry: opts.retry ?? DEFAULT_KAFKA_RETRY,
    ...(tls ? { ssl: tls } : {}),
    ...(saslOpts ? { sasl: saslOpts } : {}),
    logLevel: log ? logLevel.WARN : logLevel.NOTHING,
    ...(log
      ? {
          logCreator: () => ({ namespace, level, log: entry }) => {
            const { message, ...rest } = entry;
            // only these fields: kafkajs entries can carry a request's payload or a stack
            const fields = {
              kafka: namespace,
              broker: rest['broker'],
              topic: rest['topic'],
              error: typeof rest['error'] === 'string' ? redact(rest['error']) : undefined,
            };
            if (level <= logLevel.ERROR) log.error(fields, `kafka: ${redact(message)}`);
            else log.warn(fields, `kafka: ${redact(message)}`);
          },
        }
      : {}),
  };
  return { options, redact };
}

/**
 * The one way Sightline makes a kafkajs client: brokers, TLS (CA, client certificate, server
 * name) and SASL (PLAIN, SCRAM-SHA-256/512, AWS MSK IAM) from the shared config, secrets read
 * from their files or variables now (a KafkaConfigError names what is missing), kafkajs' log
 * lines through `log` with any secret blanked out.
 */
export function kafkaClient(config: KafkaConfigInput, opts: KafkaClientOptions = {}): Kafka {
  return new KafkaClient(kafkajsOptions(kafkaConnectionConfig(config), opts).options);
}

/**
 * The brokers refused this client for a reason retrying cannot fix: bad credentials, a mechanism
 * the broker does not offer, a certificate that does not verify. Names the broker and the cause.
 */
export class KafkaAccessError extends Error {
  constructor(readonly broker: string, readonly reason: string, security: string) {
    super(`kafka: broker ${broker} refused the connection (${security}): ${reason}`);
    this.name = 'KafkaAccessError';
  }
}

// Node's codes for a broker certificate that does not verify against the configured CAs.
const CERT_UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED',
]);

function chain(err: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e !== null && typeof e === 'object'; i++) {
    const r = e as Record<string, unknown>;
    out.push(r);
    e = r['cause'] ?? r['originalError'];
  }
  return out;
}

/** Why `err` means the config is wrong, or undefined when it may pass (broker down or restarting, a timeout). */
export function kafkaAccessProblem(err: unknown, cfg: KafkaConfig, redact: (s: string) => string = (s) => s): string | undefined {
  for (const e of chain(err)) {
    const name = String(e['name'] ?? '');
    const type = String(e['type'] ?? '');
    const code = String(e['code'] ?? '');
    const message = redact(String(e['message'] ?? '')).replace(/^Connection error: /, '');
    const mech = cfg.sasl?.mechanism ?? 'none';
    if (type === 'UNSUPPORTED_SASL_MECHANISM' || /mechanism is not supported/i.test(message)) {
      return `the broker does not offer SASL mechanism ${mech} on this listener (kafka.sasl.mechanism)`;
    }
    if (name === 'KafkaJSSASLAuthenticationError' || type === 'SASL_AUTHENTICATION_FAILED') {
      const who = cfg.sasl && cfg.sasl.mechanism !== 'aws-msk-iam' ? ` as user ${cfg.sasl.username}` : '';
      return `SASL ${mech} authentication failed${who} (wrong user or password, kafka.sasl): ${message}`;
    }
    if (CERT_UNTRUSTED.has(code)) {
      return `TLS: the broker's certificate does not verify against ${cfg.ssl?.caFile ? `the CA in kafka.ssl.caFile (${cfg.ssl.caFile})` : 'the built-in public CAs (set kafka.ssl.caFile)'}: ${code}, ${message}`;
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return `TLS: the broker's certificate is not for the name the client checked (set kafka.ssl.servername to a name it holds): ${message}`;
    }
    if (/^ERR_SSL_.*ALERT/.test(code)) {
      return `TLS: the broker refused the handshake (${code}): it wants a client certificate it trusts (kafka.ssl.certFile, keyFile)`;
    }
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /before secure TLS connection was established/.test(message)) {
      return `TLS: the broker does not speak TLS on this port (${code}): a PLAINTEXT listener? (kafka.ssl)`;
    }
  }
  return undefined;
}

/**
 * Connects once to each broker, without kafkajs' retries, and throws a KafkaAccessError when a
 * broker refuses the client for good (credentials, mechanism, certificates): without it kafkajs
 * retries a certificate that does not verify for minutes, as it would a broker that is down. A
 * broker that cannot be reached (down, restarting) is no config problem: this returns and the
 * services' own retries wait for it. Services call it first thing at start.
 */
export async function checkKafkaAccess(config: KafkaConfigInput, opts: Pick<KafkaClientOptions, 'env' | 'awsCredentials' | 'log'> = {}): Promise<void> {
  const cfg = kafkaConnectionConfig(config);
  const security = describeKafkaSecurity(cfg);
  const results = await Promise.all(cfg.brokers.map(async (broker) => {
    const { options, redact } = kafkajsOptions({ ...cfg, brokers: [broker] }, { ...opts, log: undefined, retry: { retries: 0 }, requestTimeoutMs: 10_000 });
    const admin = new KafkaClient(options).admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      return undefined;
    } catch (err) {
      const problem = kafkaAccessProblem(err, cfg, redact);
      if (problem !== undefined) return new KafkaAccessError(broker, problem, security);
      opts.log?.warn({ broker, error: redact(err instanceof Error ? err.message : String(err)) }, 'kafka: broker not reachable yet (retried by the clients)');
      return undefined;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }));
  const refused = results.find((r) => r !== undefined);
  if (refused) throw refused;
}
