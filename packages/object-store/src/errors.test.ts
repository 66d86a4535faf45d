import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCloudError } from './errors.js';
import { CloudError, type CloudKind } from './types.js';

// Pure classification of the shapes the SDKs throw. The same paths run against the real emulators
// in s3.test.ts, gcs.test.ts and azure-blob.test.ts; these cover codes the emulators cannot produce
// (throttling) and prove that fields holding credentials are dropped.
const SECRET = 'sig=SECRET-SAS-SIGNATURE-1234';

const classify = (cloud: CloudKind, err: unknown) => {
  const e = toCloudError(cloud, 'op x', err);
  assert.ok(e instanceof CloudError);
  return e;
};

test('AWS SDK v3 shapes: throttling, 403, 404, 5xx', () => {
  const aws = (name: string, status: number) => Object.assign(new Error(`msg with ${SECRET}`), { name, $metadata: { httpStatusCode: status }, $response: { headers: { authorization: SECRET } } });
  assert.deepEqual(pick(classify('aws', aws('SlowDown', 503))), ['throttled', true]);
  assert.deepEqual(pick(classify('aws', aws('ThrottlingException', 400))), ['throttled', true]);
  assert.deepEqual(pick(classify('aws', aws('AccessDenied', 403))), ['forbidden', false]);
  assert.deepEqual(pick(classify('aws', aws('ExpiredToken', 400))), ['forbidden', false]);
  assert.deepEqual(pick(classify('aws', aws('NoSuchBucket', 404))), ['not-found', false]);
  assert.deepEqual(pick(classify('aws', aws('InternalError', 500))), ['unavailable', true]);
  const e = classify('aws', aws('AccessDenied', 403));
  assert.equal(e.message, 'aws op x: access denied: check the role/service account/SAS grants read and list on this location (HTTP 403 AccessDenied)');
  assert.ok(!JSON.stringify({ ...e, m: e.message, s: e.stack }).includes('SECRET'));
});

test('Azure RestError and gaxios shapes: the request (with its SAS or bearer token) is dropped', () => {
  const azure = Object.assign(new Error(`Server failed to authenticate ${SECRET}`), {
    name: 'RestError', statusCode: 503, code: 'ServerBusy', request: { url: `https://a.blob.core.windows.net/c/b?${SECRET}`, headers: { authorization: SECRET } },
  });
  const a = classify('azure', azure);
  assert.deepEqual(pick(a), ['throttled', true]);
  assert.ok(!`${a.message}${a.stack}`.includes('SECRET'));
  const gax = Object.assign(new Error('rate'), { code: 429, errors: [{ reason: 'rateLimitExceeded' }], config: { headers: { Authorization: `Bearer ${SECRET}` } } });
  assert.deepEqual(pick(classify('gcp', gax)), ['throttled', true]);
  const gax403 = Object.assign(new Error('no'), { code: 403, errors: [{ reason: 'forbidden' }] });
  assert.deepEqual(pick(classify('gcp', gax403)), ['forbidden', false]);
  // a `code` that is not an identifier (some libraries put a sentence there) is not copied
  const odd = classify('gcp', Object.assign(new Error('x'), { code: `bad ${SECRET}`, status: 404 }));
  assert.deepEqual(pick(odd), ['not-found', false]);
  assert.ok(!odd.message.includes('SECRET'));
});

test('network errors are retryable; aborts pass through unchanged', () => {
  const net = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  assert.deepEqual(pick(classify('gcp', net)), ['unavailable', true]);
  const wrapped = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
  assert.deepEqual(pick(classify('azure', wrapped)), ['unavailable', true]);
  const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
  assert.equal(toCloudError('aws', 'x', abort), abort);
});

const pick = (e: CloudError) => [e.kind, e.retryable];
