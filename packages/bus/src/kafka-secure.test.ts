import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { endpoints } from '@sightline/testkit';
import { KafkaAccessError, checkKafkaAccess, kafkaClient, type KafkaLog } from './kafka-client.js';
import type { KafkaConfigInput } from './kafka-config.js';
import { waitForTopics } from './ensure-topics.js';

// The local broker's SASL_SSL (PLAIN, SCRAM-SHA-512) and SSL-with-client-certificate listeners,
// with the throw-away CA, certificates and passwords infra/local/services/kafka.sh made.
const skip = process.env.SIGHTLINE_SKIP_INFRA === '1' ? 'SIGHTLINE_SKIP_INFRA=1' : false;
const ep = endpoints();
const a = ep.kafkaAuth;
const { CompressionTypes } = kafkajs;

const scram = (): KafkaConfigInput => ({ brokers: ep.kafkaSaslBrokers, ssl: { caFile: a.caFile }, sasl: { mechanism: 'scram-sha-512', username: a.scramUser, passwordFile: a.scramPasswordFile } });
const plain = (): KafkaConfigInput => ({ brokers: ep.kafkaSaslBrokers, ssl: { caFile: a.caFile }, sasl: { mechanism: 'plain', username: a.plainUser, passwordFile: a.plainPasswordFile } });
const mtls = (): KafkaConfigInput => ({ brokers: ep.kafkaMtlsBrokers, ssl: { caFile: a.caFile, certFile: a.certFile, keyFile: a.keyFile } });

/** Every line kafkajs logs through the client, as text. */
function capture(): { lines: string[]; log: KafkaLog } {
  const lines: string[] = [];
  const put = (obj: object, msg: string) => { lines.push(`${msg} ${JSON.stringify(obj)}`); };
  return { lines, log: { warn: put, error: put } };
}

async function roundTrip(cfg: KafkaConfigInput): Promise<void> {
  const kafka = kafkaClient({ ...cfg, clientId: 'sightline-bus-secure-test' });
  const topic = `sl-secure-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: false });
    // a KRaft broker can answer UNKNOWN_TOPIC_OR_PARTITION right after a create: wait as ensureTopics does
    await waitForTopics(admin, [topic]);
    const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: [{ key: 'k', value: 'over TLS' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${topic}-g` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') });
    });
    await consumer.disconnect();
    assert.equal(got, 'over TLS');
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

test('SASL_SSL with SCRAM-SHA-512, SASL_SSL with PLAIN, and SSL with a client certificate: admin, idempotent producer and consumer group all work', { skip, timeout: 120_000 }, async () => {
  for (const cfg of [scram(), plain(), mtls()]) {
    await checkKafkaAccess(cfg);
    await roundTrip(cfg);
  }
});

// "Within seconds": kafkajs retries a connection error for about two minutes with the services'
// retry settings (and a certificate that does not verify is a connection error to it); 15 s is
// far below that and far above a local TLS + SASL exchange.
const FAST_MS = 15_000;

async function refused(cfg: KafkaConfigInput, broker: string, cause: RegExp): Promise<KafkaAccessError> {
  const t0 = Date.now();
  const err = await checkKafkaAccess(cfg).then(() => undefined, (e: unknown) => e);
  const ms = Date.now() - t0;
  assert.ok(err instanceof KafkaAccessError, `a KafkaAccessError, got ${String(err)}`);
  assert.equal(err.broker, broker);
  assert.ok(err.message.includes(`broker ${broker}`), err.message);
  assert.match(err.message, cause);
  assert.ok(ms < FAST_MS, `refused after ${ms} ms`);
  return err;
}

test('a wrong password, an unknown CA, a wrong mechanism, a missing client certificate: a clear error naming the broker and the cause, at once', { skip, timeout: 120_000 }, async () => {
  const wrong = `wrong-${randomBytes(8).toString('hex')}`;
  const real = readFileSync(a.scramPasswordFile, 'utf8').trim();
  const sasl = ep.kafkaSaslBrokers[0]!;
  const errors: Error[] = [];
  process.env.SL_WRONG_KAFKA_PASSWORD = wrong;
  try {
    errors.push(await refused({ ...scram(), sasl: { mechanism: 'scram-sha-512', username: a.scramUser, passwordEnv: 'SL_WRONG_KAFKA_PASSWORD' } }, sasl, /SASL scram-sha-512 authentication failed as user sightline \(wrong user or password/));
    errors.push(await refused({ ...plain(), sasl: { mechanism: 'plain', username: a.plainUser, passwordEnv: 'SL_WRONG_KAFKA_PASSWORD' } }, sasl, /SASL plain authentication failed as user sightline-plain/));
  } finally {
    delete process.env.SL_WRONG_KAFKA_PASSWORD;
  }
  errors.push(await refused({ ...scram(), ssl: { caFile: a.untrustedCaFile } }, sasl, /TLS: the broker's certificate does not verify against the CA in kafka\.ssl\.caFile .*untrusted-ca\.crt/));
  errors.push(await refused({ ...scram(), sasl: { mechanism: 'scram-sha-256', username: a.scramUser, passwordFile: a.scramPasswordFile } }, sasl, /does not offer SASL mechanism scram-sha-256/));
  const mtlsBroker = ep.kafkaMtlsBrokers[0]!;
  errors.push(await refused({ brokers: ep.kafkaMtlsBrokers, ssl: { caFile: a.caFile } }, mtlsBroker, /TLS: the broker refused the handshake .*client certificate/));
  errors.push(await refused({ ...mtls(), ssl: { ...mtls().ssl, caFile: a.untrustedCaFile } }, mtlsBroker, /TLS: the broker's certificate does not verify/));
  for (const e of errors) {
    const text = `${e.message}\n${e.stack ?? ''}`;
    assert.ok(!text.includes(real) && !text.includes(wrong), `no password in: ${text}`);
  }
});

test('the clients themselves: a wrong password fails the connect at once (kafkajs does not retry it), and neither password reaches a log line or the error', { skip, timeout: 60_000 }, async () => {
  const wrong = `wrong-${randomBytes(8).toString('hex')}`;
  const real = readFileSync(a.scramPasswordFile, 'utf8').trim();
  process.env.SL_WRONG_KAFKA_PASSWORD = wrong;
  const { lines, log } = capture();
  try {
    const kafka = kafkaClient({ ...scram(), sasl: { mechanism: 'scram-sha-512', username: a.scramUser, passwordEnv: 'SL_WRONG_KAFKA_PASSWORD' } }, { log });
    const admin = kafka.admin();
    const t0 = Date.now();
    const err = await admin.connect().then(() => undefined, (e: unknown) => e as Error);
    await admin.disconnect();
    assert.ok(err, 'the connect fails');
    assert.ok(Date.now() - t0 < FAST_MS, 'at once');
    assert.ok(lines.length > 0, 'kafkajs logged the failure');
    const all = [...lines, err.message, err.stack ?? ''].join('\n');
    assert.ok(!all.includes(wrong) && !all.includes(real), `no password in:\n${all}`);
    // and a working client logs nothing that holds the password either
    const ok = capture();
    const good = kafkaClient(scram(), { log: ok.log }).admin();
    await good.connect();
    await good.listTopics();
    await good.disconnect();
    assert.ok(!ok.lines.join('\n').includes(real));
  } finally {
    delete process.env.SL_WRONG_KAFKA_PASSWORD;
  }
});
