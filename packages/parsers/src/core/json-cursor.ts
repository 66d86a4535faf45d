/**
 * Byte-level JSON pieces shared by the fast readers (GCP LogEntry lines, Azure VNet records):
 * positions in a byte buffer `b` bounded by `n`, no string built, no allocation. Each returns the
 * position after what it read, or -1 where the bytes are not that piece (the caller then hands the
 * line or record to the general JSON.parse path).
 */

/** ASCII text as bytes (keys, literals). */
export const asciiBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

export const isJsonWs = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/** The position of the first non-whitespace byte at or after p (n when none). */
export function skipJsonWs(b: Uint8Array, p: number, n: number): number {
  while (p < n && isJsonWs(b[p]!)) p++;
  return p;
}

/** After the bytes of `w` at p, or -1. */
export function matchJsonWord(b: Uint8Array, p: number, n: number, w: Uint8Array): number {
  if (p + w.length > n) return -1;
  for (let j = 0; j < w.length; j++) if (b[p + j] !== w[j]) return -1;
  return p + w.length;
}

export const JSON_TRUE = asciiBytes('true');
export const JSON_FALSE = asciiBytes('false');
export const JSON_NULL = asciiBytes('null');

/** After a JSON number at p (sign, digits without a leading zero, fraction, exponent), or -1. */
export function skipJsonNumber(b: Uint8Array, p: number, n: number): number {
  let i = p;
  if (b[i] === 45) i++;
  const d0 = i;
  while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
  if (i === d0 || (b[d0] === 48 && i - d0 > 1)) return -1;
  if (i < n && b[i] === 46) {
    const f = ++i;
    while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === f) return -1;
  }
  if (i < n && (b[i] === 101 || b[i] === 69)) {
    i++;
    if (i < n && (b[i] === 43 || b[i] === 45)) i++;
    const f = i;
    while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === f) return -1;
  }
  return i;
}
