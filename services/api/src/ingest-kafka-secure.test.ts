import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KafkaAccessError, kafkaClient, type KafkaConfigInput } from '@sightline/bus';
import { endpoints, readToEnd } from '@sightline/testkit';
import { KafkaPublisher } from './ingest-kafka.js';
import { dropTopic } from './testdata/kafka.js';

// The API's ingest publisher over the local broker's secured listeners (infra/local/README.md):
// SCRAM-SHA-512 over SASL_SSL and mTLS, and a clear error at start when the broker refuses it.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const ep = endpoints();
const a = ep.kafkaAuth;
type Security = Pick<KafkaConfigInput, 'brokers' | 'ssl' | 'sasl'>;
const secured: [string, Security][] = [
  ['SASL_SSL SCRAM-SHA-512', { brokers: ep.kafkaSaslBrokers, ssl: { caFile: a.caFile }, sasl: { mechanism: 'scram-sha-512', username: a.scramUser, passwordFile: a.scramPasswordFile } }],
  ['mTLS', { brokers: ep.kafkaMtlsBrokers, ssl: { caFile: a.caFile, certFile: a.certFile, keyFile: a.keyFile } }],
];

for (const [name, security] of secured) {
  test(`ingest: the kube-meta publisher creates its topic and publishes over ${name}`, { skip, timeout: 60_000 }, async () => {
    const topicPrefix = `sl-api-sec-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}.`;
    const p = new KafkaPublisher({ ...security, clientId: 'sightline-api-test', topicPrefix, ensureTopics: true });
    try {
      await p.start();
      assert.ok(p.ready);
      const snapshot = { type: 'snapshot', tenant: 'acme', cluster: 'eks', epoch: 1, at: '2026-12-02T00:00:00Z', resourceVersion: name, objects: 0 } as const;
      await p.publish({ tenant: 'acme', cluster: 'eks' }, [{ key: 'acme/eks/snapshot', value: snapshot }, { key: 'acme/eks/Pod/u2', value: null }]);
      await p.stop();
      const got = await readToEnd(p.topic, { kafka: kafkaClient(security) });
      assert.deepEqual(got.map((m) => [m.key?.toString(), m.value === null ? null : JSON.parse(m.value.toString())]), [['acme/eks/snapshot', snapshot], ['acme/eks/Pod/u2', null]]);
    } finally {
      await dropTopic(p.topic);
    }
  });
}

test('ingest: an unknown CA or a wrong password stops the publisher\'s start at once, naming the broker and the cause, without the password', { skip, timeout: 60_000 }, async () => {
  const wrong = `wrong-${randomBytes(6).toString('hex')}`;
  process.env.SL_API_TEST_WRONG_PASSWORD = wrong;
  try {
    for (const [security, cause] of [
      [{ ...secured[0]![1], ssl: { caFile: a.untrustedCaFile } }, /TLS: the broker's certificate does not verify/],
      [{ ...secured[0]![1], sasl: { mechanism: 'scram-sha-512', username: a.scramUser, passwordEnv: 'SL_API_TEST_WRONG_PASSWORD' } }, /SASL scram-sha-512 authentication failed as user sightline/],
    ] as [Security, RegExp][]) {
      const p = new KafkaPublisher({ ...security, clientId: 'sightline-api-test', topicPrefix: 'sl-api-never.', ensureTopics: true });
      const err = await p.start().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof KafkaAccessError, String(err));
      assert.ok(err.message.includes(`broker ${ep.kafkaSaslBrokers[0]}`), err.message);
      assert.match(err.message, cause);
      assert.ok(!p.ready);
      const text = `${err.message}\n${err.stack ?? ''}`;
      assert.ok(!text.includes(wrong) && !text.includes(readFileSync(a.scramPasswordFile, 'utf8').trim()), 'no password in the error');
    }
  } finally {
    delete process.env.SL_API_TEST_WRONG_PASSWORD;
  }
});
