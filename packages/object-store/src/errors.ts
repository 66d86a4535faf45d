import { CloudError, type CloudErrorKind, type CloudKind } from './types.js';

/**
 * Turns SDK errors of the three clouds into CloudError.
 *
 * Why our own message: SDK errors carry their request (Azure RestError.request holds the
 * Authorization header or the SAS query string, AWS errors hold $response with signed headers,
 * gaxios errors hold the config with the bearer token). Only the HTTP status, the service's
 * error code and the network error code are copied; nothing else of the original error is kept,
 * not even as `cause`, so a logger that walks causes cannot print a credential either.
 */

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
const THROTTLE_CODES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException',
  'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'ServerBusy',
  'OperationTimedOut', 'rateLimitExceeded', 'userRateLimitExceeded', 'TooManyRequests',
]);
const NOT_FOUND_CODES = new Set([
  'NoSuchKey', 'NoSuchBucket', 'NotFound', 'NoSuchVersion', 'NonExistentQueue', 'AWS.SimpleQueueService.NonExistentQueue', 'QueueDoesNotExist',
  'BlobNotFound', 'ContainerNotFound', 'ResourceNotFound', 'notFound',
]);
const FORBIDDEN_CODES = new Set([
  'AccessDenied', 'AccessDeniedException', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException',
  'InvalidClientTokenId', 'UnrecognizedClientException', 'AuthorizationFailure', 'AuthorizationPermissionMismatch',
  'AuthenticationFailed', 'InvalidAuthenticationInfo', 'forbidden', 'insufficientPermissions',
]);

interface Facts {
  status: number | undefined;
  code: string | undefined;
  network: string | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const rec = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined);

/** Error codes are identifiers; anything else (a message smuggled in `code`) is dropped. */
const safeCode = (v: string | undefined): string | undefined =>
  v !== undefined && v !== 'Unknown' && v !== 'UnknownError' && /^[A-Za-z0-9_.:-]{1,64}$/.test(v) ? v : undefined;

function facts(err: unknown): Facts {
  const e = rec(err) ?? {};
  const meta = rec(e.$metadata);
  const response = rec(e.response);
  const cause = rec(e.cause);
  const status = num(meta?.httpStatusCode) ?? num(e.statusCode) ?? num(e.status) ?? num(response?.status) ?? (typeof e.code === 'number' ? e.code : undefined);
  // AWS SDK v3: the service's code is the error's name; gaxios: errors[0].reason; Azure: code.
  const errors = Array.isArray(e.errors) ? rec(e.errors[0]) : undefined;
  const awsName = meta !== undefined ? str(e.Code) ?? str(e.name) : undefined;
  const rawCode = awsName ?? str(errors?.reason) ?? (typeof e.code === 'string' ? e.code : undefined);
  const netCandidate = str(e.code) ?? str(e.errno) ?? str(cause?.code);
  const network = netCandidate !== undefined && NETWORK_CODES.has(netCandidate) ? netCandidate : undefined;
  return { status, code: safeCode(network === rawCode ? undefined : rawCode), network };
}

function kindOf(f: Facts): { kind: CloudErrorKind; retryable: boolean } {
  const c = f.code;
  if (f.network !== undefined) return { kind: 'unavailable', retryable: true };
  if (c !== undefined && THROTTLE_CODES.has(c)) return { kind: 'throttled', retryable: true };
  if (f.status === 429) return { kind: 'throttled', retryable: true };
  if (c !== undefined && FORBIDDEN_CODES.has(c)) return { kind: 'forbidden', retryable: false };
  if (f.status === 401 || f.status === 403) return { kind: 'forbidden', retryable: false };
  if (c !== undefined && NOT_FOUND_CODES.has(c)) return { kind: 'not-found', retryable: false };
  if (f.status === 404) return { kind: 'not-found', retryable: false };
  // 412: the object changed under a conditional read; re-discovering it is the fix, not a retry.
  if (f.status === 400 || f.status === 409 || f.status === 412 || f.status === 416) return { kind: 'invalid', retryable: false };
  if (f.status === 503 || f.status === 500 || f.status === 502 || f.status === 504) return { kind: 'unavailable', retryable: true };
  return { kind: 'other', retryable: false };
}

const HINT: Record<CloudErrorKind, string> = {
  forbidden: 'access denied: check the role/service account/SAS grants read and list on this location',
  'not-found': 'not found',
  throttled: 'throttled by the provider: back off and retry',
  unavailable: 'service unreachable or failing: retry later',
  invalid: 'request rejected',
  other: 'failed',
};

/**
 * Classifies any error thrown by a cloud call. `where` names the operation and the object
 * (e.g. `GetObject s3://bucket/key`), never a credential. An AbortError is returned unchanged:
 * cancellation is the caller's decision, not a cloud failure.
 */
export function toCloudError(cloud: CloudKind, where: string, err: unknown): Error {
  if (err instanceof CloudError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const f = facts(err);
  const { kind, retryable } = kindOf(f);
  const parts = [f.status !== undefined ? `HTTP ${f.status}` : undefined, f.code, f.network].filter((p): p is string => p !== undefined);
  return new CloudError(kind, cloud, where, `${HINT[kind]}${parts.length > 0 ? ` (${parts.join(' ')})` : ''}`, retryable);
}

/** Runs a cloud call and rethrows its failure as a CloudError. */
export async function cloudCall<T>(cloud: CloudKind, where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toCloudError(cloud, where, err);
  }
}
