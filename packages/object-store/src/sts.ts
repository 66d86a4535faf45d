import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { cloudCall } from './errors.js';

/**
 * AWS credentials for one tenant's account: the tenant's role assumed with its external id
 * (production), or static keys (development against moto). The provider is what every S3/SQS
 * client of that account is built with, so all of them share one session and its refresh.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type AwsCredentialProvider = () => Promise<AwsCredentials>;

export interface AssumeRoleOptions {
  roleArn: string;
  externalId: string;
  region: string;
  /** names the session in the tenant's CloudTrail */
  sessionName: string;
  durationSeconds?: number;
  /** refresh this long before the session expires, so no request is signed with a dying session */
  refreshBeforeSeconds?: number;
  /** emulator endpoint (moto) */
  endpoint?: string;
  /** identity that calls STS; the SDK's default chain (env, instance/task role) when absent */
  baseCredentials?: AwsCredentials | AwsCredentialProvider;
  /** injectable clock for tests of the refresh */
  now?: () => number;
}

export function staticCredentials(c: AwsCredentials): AwsCredentialProvider {
  const frozen = { ...c };
  return () => Promise.resolve(frozen);
}

/**
 * A provider that assumes the role on first use and again `refreshBeforeSeconds` before the
 * session expires; concurrent callers during a refresh share one AssumeRole call. A failed
 * refresh is thrown as a CloudError (an `forbidden` one when the trust policy or external id
 * does not match) and retried on the next call.
 */
export function assumeRoleCredentials(o: AssumeRoleOptions): AwsCredentialProvider & { assumeCount: () => number } {
  const now = o.now ?? Date.now;
  const refreshMs = (o.refreshBeforeSeconds ?? 300) * 1000;
  const sts = new STSClient({
    region: o.region,
    ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
    ...(o.baseCredentials !== undefined ? { credentials: o.baseCredentials } : {}),
  });
  let current: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;
  let count = 0;

  const assume = async (): Promise<AwsCredentials> => {
    const out = await cloudCall('aws', `AssumeRole ${o.roleArn}`, () =>
      sts.send(new AssumeRoleCommand({
        RoleArn: o.roleArn,
        RoleSessionName: o.sessionName,
        ExternalId: o.externalId,
        DurationSeconds: o.durationSeconds ?? 3600,
      })),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error(`aws AssumeRole ${o.roleArn}: the response has no complete credentials`);
    }
    count++;
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };

  const provider = async (): Promise<AwsCredentials> => {
    const fresh = current?.expiration !== undefined && current.expiration.getTime() - refreshMs > now();
    if (fresh && current) return current;
    inflight ??= assume().then(
      (c) => {
        current = c;
        inflight = undefined;
        return c;
      },
      (err: unknown) => {
        inflight = undefined;
        throw err;
      },
    );
    return inflight;
  };
  return Object.assign(provider, { assumeCount: () => count });
}

/** The credentials a source config asks for: the tenant's role (on top of static keys in development), or static keys alone. */
export function awsCredentialsFor(c: {
  accountId: string;
  tenant: string;
  region: string;
  roleArn?: string | undefined;
  externalId?: string | undefined;
  sessionDurationSeconds?: number | undefined;
  staticCredentials?: AwsCredentials | undefined;
  endpoint?: string | undefined;
}): AwsCredentialProvider | undefined {
  const base = c.staticCredentials !== undefined ? staticCredentials(c.staticCredentials) : undefined;
  if (c.roleArn === undefined) return base;
  if (c.externalId === undefined) throw new Error(`aws ${c.accountId}: roleArn needs an externalId`);
  return assumeRoleCredentials({
    roleArn: c.roleArn,
    externalId: c.externalId,
    region: c.region,
    sessionName: `sightline-${c.tenant}`.slice(0, 64),
    ...(c.sessionDurationSeconds !== undefined ? { durationSeconds: c.sessionDurationSeconds } : {}),
    ...(c.endpoint !== undefined ? { endpoint: c.endpoint } : {}),
    ...(base !== undefined ? { baseCredentials: base } : {}),
  });
}
