import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { KafkaConfigError, KafkaConfigSchema, describeKafkaSecurity, extendKafkaConfig, resolveKafkaSecrets } from './kafka-config.js';
import { kafkaClient } from './kafka-client.js';

const SECRET = 'kafka-config-test-secret-3f9a1c';
const messages = (r: { success: boolean; error?: z.ZodError }) => (r.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);

test('plaintext, TLS with a CA and client certificate, SASL with a password file or variable, MSK IAM: each validates', () => {
  assert.ok(KafkaConfigSchema.safeParse({ brokers: ['k:9092'] }).success);
  const tls = KafkaConfigSchema.parse({ brokers: ['k:9093'], ssl: { caFile: '/ca.crt', certFile: '/c.crt', keyFile: '/c.key', servername: 'kafka.internal' } });
  assert.equal(tls.ssl?.rejectUnauthorized, true, 'certificates are verified unless said otherwise');
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    assert.ok(KafkaConfigSchema.safeParse({ brokers: ['k:9094'], ssl: {}, sasl: { mechanism, username: 'u', passwordFile: '/p' } }).success, mechanism);
    assert.ok(KafkaConfigSchema.safeParse({ brokers: ['k:9094'], ssl: {}, sasl: { mechanism, username: 'u', passwordEnv: 'KAFKA_PASSWORD' } }).success, mechanism);
  }
  assert.ok(KafkaConfigSchema.safeParse({ brokers: ['b-1.msk:9098'], ssl: {}, sasl: { mechanism: 'aws-msk-iam', region: 'eu-west-1' } }).success);
});

test('a password inline, both or neither of file and variable, half a client certificate, MSK IAM without TLS: each an error by path, never quoting the value', () => {
  const inline = KafkaConfigSchema.safeParse({ brokers: ['k:9094'], sasl: { mechanism: 'plain', username: 'u', password: SECRET } }, { reportInput: false });
  assert.ok(!inline.success);
  assert.ok(messages(inline).some((m) => m.startsWith('sasl')), messages(inline).join('\n'));
  assert.ok(!JSON.stringify(inline.error).includes(SECRET), 'the value is not echoed');
  const both = KafkaConfigSchema.safeParse({ brokers: ['k:9094'], sasl: { mechanism: 'scram-sha-512', username: 'u', passwordFile: '/p', passwordEnv: 'X' } });
  assert.deepEqual(messages(both), ['sasl.passwordFile: give the password as exactly one of passwordFile or passwordEnv (never inline)']);
  const neither = KafkaConfigSchema.safeParse({ brokers: ['k:9094'], sasl: { mechanism: 'scram-sha-512', username: 'u' } });
  assert.equal(messages(neither).length, 1);
  const half = KafkaConfigSchema.safeParse({ brokers: ['k:9093'], ssl: { certFile: '/c.crt' } });
  assert.deepEqual(messages(half), ['ssl.keyFile: certFile and keyFile go together (the client certificate and its key)']);
  const msk = KafkaConfigSchema.safeParse({ brokers: ['b-1.msk:9098'], sasl: { mechanism: 'aws-msk-iam', region: 'eu-west-1' } });
  assert.match(messages(msk).join(), /^ssl: aws-msk-iam needs TLS/);
  const mech = KafkaConfigSchema.safeParse({ brokers: ['k:9094'], sasl: { mechanism: 'gssapi', username: 'u', passwordFile: '/p' } });
  assert.ok(!mech.success && messages(mech)[0]!.startsWith('sasl.mechanism'), messages(mech).join());
});

test('a service extends the shared section with its own keys and defaults, and stays strict', () => {
  const Svc = extendKafkaConfig({ clientId: z.string().default('svc'), group: z.string().default('g') });
  const c = Svc.parse({ brokers: ['k:9092'], ssl: {} });
  assert.equal(c.clientId, 'svc');
  assert.equal(c.group, 'g');
  assert.equal(c.topicPrefix, 'sightline.');
  assert.ok(!Svc.safeParse({ brokers: ['k:9092'], unknown: 1 }).success);
  assert.ok(!Svc.safeParse({ brokers: ['k:9092'], sasl: { mechanism: 'aws-msk-iam', region: 'eu-west-1' } }).success, 'the shared checks apply');
});

test('secrets are read from their file (trailing newline dropped) or variable; a missing one names the path, never a value', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sl-kafka-cfg-'));
  const pw = path.join(dir, 'password');
  await writeFile(pw, `${SECRET}\n`);
  const ca = path.join(dir, 'ca.crt');
  await writeFile(ca, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
  const cfg = KafkaConfigSchema.parse({ brokers: ['k:9094'], ssl: { caFile: ca }, sasl: { mechanism: 'scram-sha-512', username: 'u', passwordFile: pw } });
  const r = resolveKafkaSecrets(cfg, {});
  assert.deepEqual(r.sasl, { mechanism: 'scram-sha-512', username: 'u', password: SECRET });
  assert.match(r.tls?.ca?.[0] ?? '', /BEGIN CERTIFICATE/);
  const env = KafkaConfigSchema.parse({ brokers: ['k:9094'], sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'SL_KAFKA_PW' } });
  assert.equal((resolveKafkaSecrets(env, { SL_KAFKA_PW: SECRET }).sasl as { password: string }).password, SECRET);
  assert.throws(() => resolveKafkaSecrets(env, {}), (e: unknown) => e instanceof KafkaConfigError && e.message === 'kafka.sasl.passwordEnv: environment variable SL_KAFKA_PW is not set or empty');
  const missing = KafkaConfigSchema.parse({ brokers: ['k:9094'], ssl: { caFile: path.join(dir, 'nope.crt') } });
  assert.throws(() => resolveKafkaSecrets(missing, {}), /^KafkaConfigError: kafka\.ssl\.caFile: cannot read .*nope\.crt \(ENOENT\)$/);
  // the client is made with them, and says how it connects without the password
  assert.ok(kafkaClient(cfg));
  assert.equal(describeKafkaSecurity(cfg), 'SASL_SSL, scram-sha-512 as u');
});
