import { z } from 'zod';

/**
 * List polling that cannot miss a late object, shared by S3 and GCS.
 *
 * Why not "start after the last key": names are not delivery-ordered. GCS writes late addendum
 * shards `08:00:00_08:59:59_A0:<t>.json`, and `A` sorts before the `S0` already seen; S3 names
 * put the flow-log id before the time and end with a random hash, so two flow logs (or two files
 * of one window) interleave. A key cursor skips all of those.
 *
 * Instead the cursor is a watermark on the store's own modification time plus the set of keys
 * seen at or above it. Each poll re-lists the day prefixes that can still receive objects (from
 * the watermark's day minus `lookbackHours` to today), and emits every object modified at or after
 * the watermark that is not in the set, oldest first. The watermark only moves to
 * min(this object's time, newest time listed - skewSeconds), so an object that becomes visible up
 * to `skewSeconds` after its modification time (a slow upload) is still found, and the set stays
 * bounded by what was written in the last `skewSeconds`, whatever the day's object count.
 * Times are the store's, never this machine's clock, except to choose the first watermark.
 */

export interface ListedObject {
  key: string;
  size: number;
  /** S3 ETag/version id, GCS generation */
  version: string;
  /** store's modification time, ms since epoch */
  lastModified: number;
}

export const WindowCursorSchema = z.object({
  v: z.literal(1),
  /** objects modified before this (ms) are done */
  floor: z.number().int(),
  /** keys already emitted with their modification time, all >= floor */
  seen: z.array(z.tuple([z.string(), z.number().int()])),
});
export type WindowCursor = z.infer<typeof WindowCursorSchema>;

export type DayLayout = 'plain' | 'hive';

export interface WindowOptions {
  /** prefix that the day folders are under, ending in `/` (or empty) */
  base: string;
  layout: DayLayout;
  /** how far back, by the date in the name, an object can still appear */
  lookbackHours: number;
  /** how long after its modification time an object may first be listed */
  skewSeconds: number;
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ListedObject>;
  /** keeps flow-log objects, drops others (manifests, folders, test files) */
  accept(key: string): boolean;
  now?: () => number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Day folders, oldest first, covering [fromMs, toMs] in UTC. */
export function dayPrefixes(base: string, layout: DayLayout, fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  const d = new Date(fromMs);
  let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  for (; t <= toMs; t += 86_400_000) {
    const x = new Date(t);
    const [y, m, day] = [x.getUTCFullYear(), pad(x.getUTCMonth() + 1), pad(x.getUTCDate())];
    out.push(layout === 'hive' ? `${base}year=${y}/month=${m}/day=${day}/` : `${base}${y}/${m}/${day}/`);
  }
  return out;
}

/** Parses a persisted cursor; a cursor from another version or a corrupt one is an error naming the field. */
export function parseWindowCursor(value: unknown, where: string): WindowCursor {
  const r = WindowCursorSchema.safeParse(value);
  if (!r.success) throw new Error(`${where}: bad listing cursor: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export async function* pollWindow(
  cursor: WindowCursor | undefined,
  o: WindowOptions,
  signal?: AbortSignal,
): AsyncGenerator<{ obj: ListedObject; cursor: WindowCursor }, void, undefined> {
  const now = (o.now ?? Date.now)();
  const lookbackMs = o.lookbackHours * 3_600_000;
  const skewMs = o.skewSeconds * 1000;
  const floor = cursor?.floor ?? now - lookbackMs;
  const seen = new Map<string, number>(cursor?.seen ?? []);

  const fresh: ListedObject[] = [];
  let newest = -Infinity;
  // Names can be stamped a little ahead of this machine's clock: include tomorrow's folder near midnight.
  for (const prefix of dayPrefixes(o.base, o.layout, Math.min(floor, now) - lookbackMs, now + 3_600_000)) {
    for await (const obj of o.list(prefix, signal)) {
      if (!o.accept(obj.key)) continue;
      if (obj.lastModified > newest) newest = obj.lastModified;
      if (obj.lastModified >= floor && !seen.has(obj.key)) fresh.push(obj);
    }
  }
  fresh.sort((a, b) => a.lastModified - b.lastModified || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  let current = floor;
  for (const obj of fresh) {
    seen.set(obj.key, obj.lastModified);
    // Everything listed before this object is emitted; what is not listed yet is newer than newest - skew.
    current = Math.max(current, Math.min(obj.lastModified, newest - skewMs));
    for (const [k, t] of seen) if (t < current) seen.delete(k);
    yield { obj, cursor: { v: 1, floor: current, seen: [...seen] } };
  }
}

/**
 * A time range to backfill: objects whose name says they cover an hour from the hour of `fromMs`
 * up to (not including) `toMs`. By the time in the name, not the store's modification time: a
 * backfill is asked for "the flows of September", and an object rewritten or copied later still
 * holds the flows its name says.
 */
export interface TimeRange {
  fromMs: number;
  toMs: number;
}

export interface RangeOptions {
  base: string;
  layout: DayLayout;
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ListedObject>;
  accept(key: string): boolean;
  /** the start (ms) of what the object's name says it covers; undefined when the name says nothing finer than its day folder */
  timeOf(key: string): number | undefined;
}

const HOUR_MS = 3_600_000;

/** Whether a time from a name is inside the range, at hour granularity (see TimeRange). */
export function inRange(t: number, r: TimeRange): boolean {
  return t >= Math.floor(r.fromMs / HOUR_MS) * HOUR_MS && t < r.toMs;
}

/**
 * Every object of the range, day folder by day folder (oldest first), each folder's objects in
 * the store's order. Only the day folders of the range are listed, whatever the look-back window.
 */
export async function* listRange(r: TimeRange, o: RangeOptions, signal?: AbortSignal): AsyncGenerator<ListedObject, void, undefined> {
  if (!(r.toMs > r.fromMs)) return;
  for (const prefix of dayPrefixes(o.base, o.layout, r.fromMs, r.toMs - 1)) {
    for await (const obj of o.list(prefix, signal)) {
      if (!o.accept(obj.key)) continue;
      const t = o.timeOf(obj.key);
      if (t === undefined || inRange(t, r)) yield obj;
    }
  }
}
