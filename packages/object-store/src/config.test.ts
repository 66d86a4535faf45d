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
