import kafkajs from 'kafkajs';
import { endpoints } from '@sightline/testkit';

/** Deletes a test's kube-meta topic after the api stopped (each test run makes its own, by prefix); a missing topic is fine. */
export async function dropTopic(topic: string): Promise<void> {
  const admin = new kafkajs.Kafka({ clientId: `t-drop-${process.pid}`, brokers: endpoints().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
