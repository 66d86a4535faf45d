import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dayPrefixes, pollWindow, type ListedObject, type WindowCursor } from './listing-window.js';

// The algorithm alone, over an in-memory listing (the real stores are exercised in s3.test.ts and
// gcs.test.ts): late objects, slow uploads inside the skew, bounded cursor.
const H = 3_600_000;
const T0 = Date.UTC(2026, 3, 16, 10, 0, 0);

function store() {
  const objects: ListedObject[] = [];
  return {
    objects,
    add(key: string, lastModified: number) {
      objects.push({ key, size: 1, version: 'v', lastModified });
    },
    async *list(prefix: string) {
      for (const o of objects) if (o.key.startsWith(prefix)) yield o;
    },
  };
}

async function poll(s: ReturnType<typeof store>, cursor: WindowCursor | undefined, now: number) {
  const keys: string[] = [];
  let last = cursor;
  for await (const u of pollWindow(cursor, { base: 'b/', layout: 'plain', lookbackHours: 30, skewSeconds: 600, accept: (k) => k.endsWith('.json'), list: s.list, now: () => now })) {
    keys.push(u.obj.key);
    last = u.cursor;
  }
  return { keys, cursor: last };
}

test('day prefixes cover the window in UTC, both layouts', () => {
  assert.deepEqual(dayPrefixes('b/', 'plain', Date.UTC(2026, 1, 27, 23), Date.UTC(2026, 2, 1, 0, 30)), ['b/2026/02/27/', 'b/2026/02/28/', 'b/2026/03/01/']);
  assert.deepEqual(dayPrefixes('', 'hive', Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1)), ['year=2026/month=01/day=01/']);
});

test('late shard in yesterday\'s folder, a slow upload inside the skew, and nothing twice', async () => {
  const s = store();
  s.add('b/2026/04/15/23:00:00_23:59:59_S0.json', T0 - 9 * H);
  s.add('b/2026/04/16/08:00:00_08:59:59_S0.json', T0 - 1 * H);
  s.add('b/2026/04/16/notes.txt', T0 - 1 * H);
  const first = await poll(s, undefined, T0);
  assert.deepEqual(first.keys, ['b/2026/04/15/23:00:00_23:59:59_S0.json', 'b/2026/04/16/08:00:00_08:59:59_S0.json']);

  // Late addendum for yesterday's hour, written now; a slow upload stamped 5 minutes before the newest object.
  s.add('b/2026/04/15/23:00:00_23:59:59_A0:1776290000.json', T0 + 2 * H);
  s.add('b/2026/04/16/09:00:00_09:59:59_S0.json', T0 + 2 * H - 300_000);
  const second = await poll(s, first.cursor, T0 + 2 * H);
  assert.deepEqual(second.keys, ['b/2026/04/16/09:00:00_09:59:59_S0.json', 'b/2026/04/15/23:00:00_23:59:59_A0:1776290000.json']);
  assert.deepEqual(await poll(s, second.cursor, T0 + 2 * H).then((r) => r.keys), []);

  // An object that shows up later than the skew allows is on the operator's side of the contract: it is past the floor.
  assert.ok(second.cursor!.floor <= T0 + 2 * H - 600_000);
  assert.ok(second.cursor!.seen.every(([, t]) => t >= second.cursor!.floor), 'the set holds only what is at or above the floor');
});

test('the cursor stays bounded by the skew window on a long catch-up', async () => {
  const s = store();
  for (let i = 0; i < 2000; i++) s.add(`b/2026/04/16/${String(i).padStart(5, '0')}.json`, T0 - 20 * H + i * 30_000);
  let biggest = 0;
  let n = 0;
  for await (const u of pollWindow(undefined, { base: 'b/', layout: 'plain', lookbackHours: 30, skewSeconds: 600, accept: () => true, list: s.list, now: () => T0 })) {
    biggest = Math.max(biggest, u.cursor.seen.length);
    n++;
  }
  assert.equal(n, 2000);
  // 600 s of skew at one object per 30 s: about 20 keys, never the whole day.
  assert.ok(biggest <= 22, `cursor held ${biggest} keys`);
});
