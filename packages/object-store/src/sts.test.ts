import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { endpoints } from '@sightline/testkit';
import { s3Source } from './s3.js';
import { assumeRoleCredentials, type AwsCredentials } from './sts.js';
import { ACCOUNT, REGION, awsConfig, dummyKeys, skipInfra as skip, withBucket } from './testing/moto.js';

const roleArn = `arn:aws:iam::${ACCOUNT}:role/sightline-flowlog-reader`;

test('S3 calls are signed with the assumed role session, not the base keys', { skip }, async () => {
  await withBucket(async (bucket) => {
    const c = awsConfig(bucket, { roleArn, externalId: 'tenant-acme-4f1c' });
    const { client, credentials } = s3Source(c);
    assert.ok(credentials);
    const signedWith: string[] = [];
    client.middlewareStack.addRelativeTo(
      <A extends object, R>(next: (args: A) => Promise<R>) => async (args: A) => {
        const h = ('request' in args ? (args.request as { headers?: Record<string, string> }).headers : undefined) ?? {};
        const m = /Credential=([^/]+)\//.exec(h.authorization ?? '');
        if (m?.[1] !== undefined) signedWith.push(m[1]);
        return next(args);
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'captureAccessKeyId' },
    );
    await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const session = await credentials();
    assert.ok(session.sessionToken && session.expiration, 'a session, not long-lived keys');
    assert.notEqual(session.accessKeyId, dummyKeys.accessKeyId);
    assert.deepEqual(signedWith, [session.accessKeyId], 'the S3 request was signed with the session key');

    // STS itself says who the session is: the tenant's role, named after the tenant.
    const who = await new STSClient({ region: REGION, endpoint: endpoints().s3Endpoint, credentials }).send(new GetCallerIdentityCommand({}));
    assert.match(who.Arn ?? '', /:assumed-role\/sightline-flowlog-reader\/sightline-acme$/);
  });
});

test('AssumeRole is called once per session and again just before expiry; concurrent callers share a call', { skip }, async () => {
  let clock = Date.now();
  const provider = assumeRoleCredentials({
    roleArn, externalId: 'tenant-acme-4f1c', region: REGION, sessionName: 'sightline-refresh-test',
    durationSeconds: 900, refreshBeforeSeconds: 120, endpoint: endpoints().s3Endpoint, baseCredentials: dummyKeys, now: () => clock,
  });
  const [a, b] = await Promise.all([provider(), provider()]);
  assert.equal(provider.assumeCount(), 1);
  assert.equal(a, b);
  const expiry = a.expiration!.getTime();
  clock = expiry - 121_000;
  const still: AwsCredentials = await provider();
  assert.equal(provider.assumeCount(), 1, 'not refreshed while more than refreshBeforeSeconds remain');
  assert.equal(still.accessKeyId, a.accessKeyId);
  clock = expiry - 119_000;
  const renewed = await provider();
  assert.equal(provider.assumeCount(), 2, 'refreshed inside the refresh margin');
  assert.notEqual(renewed.accessKeyId, a.accessKeyId);
});
