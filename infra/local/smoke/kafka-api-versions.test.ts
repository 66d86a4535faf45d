import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpoints } from '@sightline/testkit';
import { apiVersions } from '../kafka/api-versions.js';

const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;

// kafkajs sends min(its highest version, the broker's max) of each API and never checks the
// broker's min: Kafka 4 dropped old versions (KIP-896), so a pick below the min would fail only at
// run time. This holds for the local broker, whichever version runs (SIGHTLINE_KAFKA_VERSION).
test('every API kafkajs implements is sent at a version the local broker accepts', { skip }, async () => {
  const rows = await apiVersions(endpoints().kafkaBrokers[0]!);
  for (const api of ['Produce', 'Fetch', 'ListOffsets', 'Metadata', 'OffsetCommit', 'OffsetFetch', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'InitProducerId', 'CreateTopics', 'DescribeConfigs', 'SaslHandshake', 'SaslAuthenticate']) {
    assert.ok(rows.some((r) => r.name === api), `${api} offered by the broker`);
  }
  const bad = rows.filter((r) => !r.ok);
  assert.deepEqual(bad, [], 'APIs kafkajs would send at a version the broker refuses');
});
