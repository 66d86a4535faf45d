// Reads a topic from its beginning up to the end offsets it has when the read starts (testkit's
// readToEnd): a slow read then reports itself as slow, and a missing message as missing (not as
// a short count). Decoded here, tombstones skipped.
import { readToEnd } from '@sightline/testkit';

export async function readTopicToEnd<T>(topic: string, decode: (value: Buffer, key: string, partition: number, offset: string) => T, timeoutMs = 30_000): Promise<T[]> {
  const out: T[] = [];
  for (const m of await readToEnd(topic, { deadlineMs: timeoutMs })) {
    if (m.value !== null) out.push(decode(m.value, m.key?.toString() ?? '', m.partition, m.offset));
  }
  return out;
}
