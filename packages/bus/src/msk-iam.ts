import { createHash, createHmac } from 'node:crypto';

/**
 * AWS MSK IAM authentication for kafkajs, through SASL OAUTHBEARER. The token is the one AWS's
 * signers (aws-msk-iam-sasl-signer-js, -python, -go) make: a SigV4 presigned URL
 *   https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256
 *     &X-Amz-Credential=<key id>/<yyyymmdd>/<region>/kafka-cluster/aws4_request&X-Amz-Date=<yyyymmddThhmmssZ>
 *     &X-Amz-Expires=900[&X-Amz-Security-Token=<session token>]&X-Amz-SignedHeaders=host&X-Amz-Signature=<hex>
 *     &User-Agent=<client>
 * (GET, the only signed header `host`, the payload hash of an empty body; the User-Agent added after
 * signing), base64url-encoded without padding. The broker checks the signature and the principal's
 * IAM policy (kafka-cluster:Connect and the topic actions).
 *
 * The signing is SigV4 query signing as AWS documents it ("Authenticating Requests: Using Query
 * Parameters"); it is written here with node:crypto, and msk-iam.test.ts checks it against AWS's
 * own worked example. Credentials come from the AWS SDK's default chain (credential-provider-node).
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const MSK_TOKEN_EXPIRY_SECONDS = 900;
const USER_AGENT = 'sightline-msk-iam/1';

/** RFC 3986 percent-encoding, as SigV4's canonical query string wants it. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function amzDate(t: Date): string {
  return t.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();

export interface PresignInput {
  host: string;
  path: string;
  service: string;
  region: string;
  credentials: AwsCredentials;
  /** query parameters of the request itself (signed) */
  query: Record<string, string>;
  expiresSeconds: number;
  now: Date;
  /** SHA-256 hex of the payload, or UNSIGNED-PAYLOAD (S3) */
  payloadHash?: string;
}

/**
 * SigV4 query-string signing of a GET with only the `host` header signed: returns the query
 * parameters of the presigned URL in the order the SDK writes them, the signature last.
 */
export function presignQuery(p: PresignInput): [string, string][] {
  const date = amzDate(p.now);
  const scope = `${date.slice(0, 8)}/${p.region}/${p.service}/aws4_request`;
  const params: Record<string, string> = {
    ...p.query,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${p.credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': date,
    'X-Amz-Expires': String(p.expiresSeconds),
    ...(p.credentials.sessionToken ? { 'X-Amz-Security-Token': p.credentials.sessionToken } : {}),
    'X-Amz-SignedHeaders': 'host',
  };
  const canonicalQuery = Object.keys(params)
    .map((k) => [uriEncode(k), uriEncode(params[k]!)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = ['GET', p.path, canonicalQuery, `host:${p.host}\n`, 'host', p.payloadHash ?? sha256Hex('')].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${p.credentials.secretAccessKey}`, date.slice(0, 8));
  for (const part of [p.region, p.service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return [...Object.entries(params), ['X-Amz-Signature', signature]];
}

/** The OAUTHBEARER token for an MSK cluster in `region`, valid 15 minutes from `now`. */
export function mskIamToken(region: string, credentials: AwsCredentials, now = new Date()): string {
  const host = `kafka.${region}.amazonaws.com`;
  const query = presignQuery({
    host, path: '/', service: 'kafka-cluster', region, credentials,
    query: { Action: 'kafka-cluster:Connect' }, expiresSeconds: MSK_TOKEN_EXPIRY_SECONDS, now,
  });
  query.push(['User-Agent', USER_AGENT]);
  const url = `https://${host}/?${query.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&')}`;
  return Buffer.from(url, 'utf8').toString('base64url');
}

export type AwsCredentialProvider = () => Promise<AwsCredentials>;

/**
 * The AWS SDK's default chain (environment, shared config/credentials files and `profile`, SSO,
 * web identity as on EKS with IRSA, ECS and EC2 instance roles), loaded on first use so that a
 * process without MSK never loads the SDK. The chain caches credentials and refreshes them
 * before they expire.
 */
export function defaultAwsCredentials(profile?: string): AwsCredentialProvider {
  let provider: AwsCredentialProvider | undefined;
  return async () => {
    if (!provider) {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      provider = defaultProvider(profile ? { profile } : {});
    }
    return provider();
  };
}

/**
 * kafkajs' OAUTHBEARER provider for MSK IAM: a fresh token at each authentication (kafkajs asks
 * on every new connection). A credential failure names the region and the chain, not a key.
 */
export function mskIamTokenProvider(region: string, credentials: AwsCredentialProvider, now: () => Date = () => new Date()): () => Promise<{ value: string }> {
  return async () => {
    let c: AwsCredentials;
    try {
      c = await credentials();
    } catch (err) {
      throw new Error(`kafka aws-msk-iam (${region}): no AWS credentials from the default chain: ${err instanceof Error ? `${err.name}: ${err.message}` : 'error'}`);
    }
    return { value: mskIamToken(region, c, now()) };
  };
}
