import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseSourceConfig } from './config.js';

const aws = {
  cloud: 'aws', tenant: 'acme', accountId: '123456789012', region: 'eu-west-1', bucket: 'acme-flow-logs',
  roleArn: 'arn:aws:iam::123456789012:role/sightline-reader', externalId: 'acme-7d2e',
};
const SECRET = 'do-not-echo-this-secret-91b';

test('valid configs of the three clouds parse, with defaults', () => {
  const a = parseSourceConfig(aws, 'sources[0]');
  assert.equal(a.cloud, 'aws');
  if (a.cloud !== 'aws') return;
  assert.deepEqual([a.prefix, a.layout, a.lookbackHours, a.skewSeconds, a.sessionDurationSeconds], ['', 'plain', 6, 900, 3600]);

  const g = parseSourceConfig({ cloud: 'gcp', tenant: 'acme', projectId: 'acme-prod-123', bucket: 'acme-vpc-flows', credentials: { type: 'impersonation', targetServiceAccount: 'reader@acme-prod-123.iam.gserviceaccount.com' } });
  assert.ok(g.cloud === 'gcp' && g.prefix === 'compute.googleapis.com/vpc_flows/' && g.credentials.type === 'impersonation' && g.credentials.lifetimeSeconds === 3600);

  const z = parseSourceConfig({ cloud: 'azure', tenant: 'acme', subscriptionId: 'aaaa0a0a-bb1b-4c2c-8d3d-eeeeee4e4e4e', storageAccount: 'acmeflowlogs', credentials: { type: 'sas', sasToken: SECRET } });
  assert.ok(z.cloud === 'azure');
  if (z.cloud !== 'azure') return;
  assert.deepEqual(z.containers, { nsg: 'insights-logs-networksecuritygroupflowevent', vnet: 'insights-logs-flowlogflowevent' });
});

test('errors name the path of each bad field and never echo a value', () => {
  const bad = (v: unknown) => {
    try {
      parseSourceConfig(v, 'sources[3]');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    assert.fail('accepted a bad config');
  };
  assert.match(bad({ ...aws, roleArn: undefined }), /sources\[3\]\.roleArn: give roleArn and externalId/);
  assert.match(bad({ ...aws, externalId: undefined }), /sources\[3\]\.externalId: required with roleArn/);
  assert.match(bad({ ...aws, accountId: '1234' }), /sources\[3\]\.accountId: 12 digits/);
  assert.match(bad({ ...aws, prefix: '/logs' }), /sources\[3\]\.prefix:/);
  const m = bad({ ...aws, staticCredentials: { accessKeyId: 'AKIA', secretAccessKey: 42 }, endpoint: 'not a url' });
  assert.match(m, /sources\[3\]\.staticCredentials\.secretAccessKey:/);
  assert.match(m, /sources\[3\]\.endpoint:/);
  const sp = bad({ cloud: 'azure', tenant: 'acme', subscriptionId: 'x', storageAccount: 'acme', credentials: { type: 'service-principal', tenantId: SECRET, clientId: 'aaaa0a0a-bb1b-4c2c-8d3d-eeeeee4e4e4e', clientSecret: SECRET } });
  assert.match(sp, /sources\[3\]\.subscriptionId:/);
  assert.match(sp, /sources\[3\]\.credentials\.tenantId:/);
  assert.ok(!sp.includes(SECRET), 'the value is not echoed');
  assert.match(bad({ cloud: 'gcp', tenant: 'acme', projectId: 'acme-prod-123', bucket: 'b-b-b', credentials: { type: 'emulator' } }), /sources\[3\]\.apiEndpoint: required/);
  assert.match(bad({ cloud: 'ibm' }), /sources\[3\]\.cloud:/);
});

test('an unknown key anywhere in a source is refused with its path and the key it was probably meant to be', () => {
  const bad = (v: unknown) => {
    try {
      parseSourceConfig(v, 'sources[2]');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    assert.fail('accepted an unknown key');
  };
  // A mistyped roleARN used to be dropped silently: no role assumed (here the staticCredentials would have been used alone).
  const m = bad({ ...aws, roleArn: undefined, externalId: undefined, roleARN: aws.roleArn, staticCredentials: { accessKeyId: 'AKIA', secretAccessKey: SECRET } });
  assert.match(m, /sources\[2\]\.roleARN: unknown key \(did you mean roleArn\?\)/);
  assert.match(bad({ ...aws, lookbackHour: 3 }), /sources\[2\]\.lookbackHour: unknown key \(did you mean lookbackHours\?\)/);
  assert.match(bad({ ...aws, frobnicate: true }), /sources\[2\]\.frobnicate: unknown key(;|$)/);
  // Nested objects and every cloud.
  assert.match(bad({ ...aws, staticCredentials: { accessKeyId: 'AKIA', secretAccessKey: SECRET, sessiontoken: SECRET } }), /sources\[2\]\.staticCredentials\.sessiontoken: unknown key \(did you mean sessionToken\?\)/);
  assert.match(bad({ cloud: 'gcp', tenant: 'acme', projectId: 'acme-prod-123', bucket: 'acme-vpc-flows', credentials: { type: 'impersonation', targetServiceAccount: 'r@acme-prod-123.iam.gserviceaccount.com', delegate: [] } }), /sources\[2\]\.credentials\.delegate: unknown key \(did you mean delegates\?\)/);
  const az = bad({ cloud: 'azure', tenant: 'acme', subscriptionId: 'aaaa0a0a-bb1b-4c2c-8d3d-eeeeee4e4e4e', storageAccount: 'acmeflowlogs', credentials: { type: 'sas', sasToken: SECRET }, containers: { nsg: null, vnets: 'x-y-z' } });
  assert.match(az, /sources\[2\]\.containers\.vnets: unknown key \(did you mean vnet\?\)/);
  assert.ok(!az.includes(SECRET) && !m.includes(SECRET), 'no value echoed');
});

test('Azure ids are GUIDs of any version, not only RFC 4122 UUIDs', () => {
  // Version nibble 0 and a non-RFC variant: real-looking ids that z.uuid() refused.
  const ids = ['0f8fad5b-d9cb-069f-a165-70867728950e', '12345678-90ab-cdef-0123-456789abcdef', 'AAAA0A0A-BB1B-0C2C-CD3D-EEEEEE4E4E4E'];
  for (const id of ids) {
    const z = parseSourceConfig({ cloud: 'azure', tenant: 'acme', subscriptionId: id, storageAccount: 'acmeflowlogs', credentials: { type: 'service-principal', tenantId: id, clientId: id, clientSecret: SECRET } });
    assert.ok(z.cloud === 'azure' && z.subscriptionId === id);
  }
  for (const bad of ['12345678-90ab-cdef-0123-456789abcde', 'g2345678-90ab-cdef-0123-456789abcdef', '1234567890abcdef0123456789abcdef']) {
    assert.throws(() => parseSourceConfig({ cloud: 'azure', tenant: 'acme', subscriptionId: bad, storageAccount: 'acmeflowlogs', credentials: { type: 'sas', sasToken: SECRET } }, 'sources[0]'), /sources\[0\]\.subscriptionId: a GUID/);
  }
});
