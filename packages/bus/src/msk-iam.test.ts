import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mskIamToken, mskIamTokenProvider, presignQuery } from './msk-iam.js';

// AWS's worked example of a presigned URL ("Authenticating Requests: Using Query Parameters
// (AWS Signature Version 4)", Amazon S3 API reference): GET /test.txt of examplebucket, the
// documentation's example key, 2013-05-24T00:00:00Z, 86400 s, payload UNSIGNED-PAYLOAD.
test('SigV4 query signing reproduces the signature of AWS\'s documented presigned-URL example', () => {
  const q = presignQuery({
    host: 'examplebucket.s3.amazonaws.com', path: '/test.txt', service: 's3', region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    query: {}, expiresSeconds: 86400, now: new Date('2013-05-24T00:00:00Z'), payloadHash: 'UNSIGNED-PAYLOAD',
  });
  const m = new Map(q);
  assert.equal(m.get('X-Amz-Credential'), 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
  assert.equal(m.get('X-Amz-Date'), '20130524T000000Z');
  assert.equal(m.get('X-Amz-Signature'), 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
});

const creds = { accessKeyId: 'ASIAEXAMPLEKEYID0001', secretAccessKey: 'example/secret+key', sessionToken: 'session/token+with=chars' };
const now = new Date('2025-03-04T05:06:07.890Z');

function decode(token: string): URL {
  return new URL(Buffer.from(token, 'base64url').toString('utf8'));
}

test('the MSK IAM token is a base64url (unpadded) presigned kafka-cluster:Connect URL in the documented format', () => {
  const token = mskIamToken('eu-west-1', creds, now);
  assert.match(token, /^[A-Za-z0-9_-]+$/, 'base64url alphabet, no padding');
  const url = decode(token);
  assert.equal(url.protocol, 'https:');
  assert.equal(url.hostname, 'kafka.eu-west-1.amazonaws.com');
  assert.equal(url.pathname, '/');
  const p = url.searchParams;
  assert.equal(p.get('Action'), 'kafka-cluster:Connect');
  assert.equal(p.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
  assert.equal(p.get('X-Amz-Credential'), 'ASIAEXAMPLEKEYID0001/20250304/eu-west-1/kafka-cluster/aws4_request');
  assert.equal(p.get('X-Amz-Date'), '20250304T050607Z');
  assert.equal(p.get('X-Amz-Expires'), '900');
  assert.equal(p.get('X-Amz-SignedHeaders'), 'host');
  assert.equal(p.get('X-Amz-Security-Token'), creds.sessionToken);
  assert.ok(p.get('User-Agent'));
  // the parameter order AWS's signers write, User-Agent (unsigned) last
  assert.deepEqual([...p.keys()], ['Action', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-Security-Token', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'User-Agent']);
  // reserved characters percent-encoded (RFC 3986) as the canonical query has them
  assert.match(url.search, /Action=kafka-cluster%3AConnect&/);
  assert.match(url.search, /X-Amz-Security-Token=session%2Ftoken%2Bwith%3Dchars&/);

  // The signature, computed here step by step from AWS's SigV4 description: the canonical request
  // of a GET / with the signed query (every parameter but the signature and User-Agent, sorted),
  // the host header only, and the hash of an empty payload.
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const signed = [...p.entries()].filter(([k]) => k !== 'X-Amz-Signature' && k !== 'User-Agent').map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join('&');
  const hex = (s: string) => createHash('sha256').update(s).digest('hex');
  const canonical = `GET\n/\n${signed}\nhost:kafka.eu-west-1.amazonaws.com\n\nhost\n${hex('')}`;
  const toSign = `AWS4-HMAC-SHA256\n20250304T050607Z\n20250304/eu-west-1/kafka-cluster/aws4_request\n${hex(canonical)}`;
  let key: Buffer = createHmac('sha256', `AWS4${creds.secretAccessKey}`).update('20250304').digest();
  for (const s of ['eu-west-1', 'kafka-cluster', 'aws4_request']) key = createHmac('sha256', key).update(s).digest();
  assert.equal(p.get('X-Amz-Signature'), createHmac('sha256', key).update(toSign).digest('hex'));
});

test('without a session token there is no X-Amz-Security-Token', () => {
  const p = decode(mskIamToken('us-east-1', { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, now)).searchParams;
  assert.equal(p.get('X-Amz-Security-Token'), null);
  assert.equal(p.get('X-Amz-Credential'), 'AKIDEXAMPLE/20250304/us-east-1/kafka-cluster/aws4_request');
});

test('the kafkajs provider signs with the credentials of the chain at each call; a chain failure names the region, not a key', async () => {
  let calls = 0;
  const provider = mskIamTokenProvider('ap-south-1', async () => { calls++; return creds; }, () => now);
  const { value } = await provider();
  assert.equal(decode(value).hostname, 'kafka.ap-south-1.amazonaws.com');
  await provider();
  assert.equal(calls, 2);
  const failing = mskIamTokenProvider('ap-south-1', async () => { throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }); });
  await assert.rejects(failing(), /kafka aws-msk-iam \(ap-south-1\): no AWS credentials from the default chain: CredentialsProviderError/);
});
