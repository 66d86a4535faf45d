/**
 * Nesting bound for the JSON formats (GCP lines, Azure records).
 *
 * JSON.parse reads any depth, but what runs on the parsed value afterwards may recurse
 * (JSON.stringify of an unknown payload field, zod, the NSG reader's nested `records`): a line
 * nested 10,000 deep then throws `RangeError: Maximum call stack size exceeded` from somewhere
 * that knows neither the line nor the file, and the whole object fails. Flow logs nest 7 levels
 * at most (an Azure tuple array; a GKE workload in GCP), so anything past MAX_JSON_DEPTH is
 * rejected before it is parsed, as one bad line or record with its position.
 */

/** Deepest nesting of arrays and objects accepted in one line or record (the outer `{` is level 1). */
export const MAX_JSON_DEPTH = 64;

/**
 * True when bytes [start, end) open more than `max` arrays or objects at once. Brackets inside
 * strings do not count; the bytes need not be valid JSON (JSON.parse judges that afterwards).
 */
export function nestsDeeperThan(buf: Uint8Array, start: number, end: number, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let i = start;
  while (i < end) {
    const c = buf[i]!;
    if (c === 34) {
      // skip the string: to the next quote not escaped by an odd run of backslashes
      i++;
      while (i < end) {
        const d = buf[i]!;
        if (d === 92) i += 2;
        else if (d === 34) break;
        else i++;
      }
    } else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
    i++;
  }
  return false;
}
