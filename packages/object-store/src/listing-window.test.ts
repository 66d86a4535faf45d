import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dayPrefixes, listRange, pollWindow, type ListedObject, type WindowCursor } from './listing-window.js';
import { s3NameTime } from './s3.js';
import { gcsNameTime } from './gcs.js';

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

test('a backfill range lists only its day folders, however old, and keeps the objects whose name falls inside it', async () => {
  const s = store();
  const listed: string[] = [];
  const list = (prefix: string) => { listed.push(prefix); return s.list(prefix); };
  const D = Date.UTC(2026, 0, 30);
  // 90 days before T0 is far beyond any look-back window; modification times are all "now".
  s.add('b/2026/01/29/x_20260129T2355Z_a.log.gz', T0);
  s.add('b/2026/01/30/x_20260130T0000Z_a.log.gz', T0);
  s.add('b/2026/01/30/x_20260130T0610Z_a.log.gz', T0);
  s.add('b/2026/01/31/x_20260131T0000Z_a.log.gz', T0);
  s.add('b/2026/01/30/manifest.json', T0);
  const keys = async (fromMs: number, toMs: number) => {
    const out: string[] = [];
    for await (const o of listRange({ fromMs, toMs }, { base: 'b/', layout: 'plain', list, accept: (k) => k.endsWith('.log.gz'), timeOf: s3NameTime })) out.push(o.key);
    return out;
  };
  assert.deepEqual(await keys(D, D + 86_400_000), ['b/2026/01/30/x_20260130T0000Z_a.log.gz', 'b/2026/01/30/x_20260130T0610Z_a.log.gz']);
  assert.deepEqual(listed, ['b/2026/01/30/'], 'one day: one folder listed');
  // Hour granularity: --from 06:30 still takes the object of 06:10 (its hour started before), --to 06:00 excludes it.
  assert.deepEqual(await keys(D + 6.5 * H, D + 7 * H), ['b/2026/01/30/x_20260130T0610Z_a.log.gz']);
  assert.deepEqual(await keys(D, D + 6 * H), ['b/2026/01/30/x_20260130T0000Z_a.log.gz']);
  assert.deepEqual(await keys(D, D), [], 'an empty range lists nothing');
  listed.length = 0;
  assert.deepEqual(await keys(D - 90 * 24 * H, D - 89 * 24 * H), []);
  assert.deepEqual(listed, ['b/2025/11/01/']);
});

test('times in the names: S3 stamp, GCS hour', () => {
  assert.equal(s3NameTime('AWSLogs/1/vpcflowlogs/r/2026/04/16/1_vpcflowlogs_r_fl-0abc_20260416T0905Z_8f2c.log.gz'), Date.UTC(2026, 3, 16, 9, 5));
  assert.equal(s3NameTime('AWSLogs/1/vpcflowlogs/r/2026/04/16/notes.txt'), undefined);
  assert.equal(gcsNameTime('compute.googleapis.com/vpc_flows/2026/04/16/08:00:00_08:59:59_A0:1776290000.json'), Date.UTC(2026, 3, 16, 8));
  assert.equal(gcsNameTime('compute.googleapis.com/vpc_flows/2026/04/16/other.json'), undefined);
});
