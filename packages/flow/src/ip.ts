/**
 * Address normalization. Sources write IPv6 in whatever form they like (AWS and Azure
 * usually compressed, sometimes not); everything downstream compares strings, so every
 * address leaves the parsers in one canonical form: dotted quad for IPv4, RFC 5952 for IPv6.
 */

/** Canonical form of an IPv4 or IPv6 address, or null when `s` is not an address. */
export function normalizeIp(s: string): string | null {
  if (s.indexOf(':') === -1) return isIPv4(s) ? s : null;
  return normalizeIPv6(s);
}

/** Strict dotted quad: four decimal octets 0-255 without leading zeros. */
export function isIPv4(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let dots = 0;
  let val = 0;
  let digits = 0;
  let lead0 = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return false;
      dots++;
      val = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits === 1 && lead0) return false;
    if (digits === 0) lead0 = c === 48;
    val = val * 10 + (c - 48);
    digits++;
    if (val > 255) return false;
  }
  return dots === 3 && digits > 0;
}

function parseIPv4Words(s: string): [number, number] | null {
  if (!isIPv4(s)) return null;
  const p = s.split('.').map(Number);
  return [(p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!];
}

/** RFC 5952: lower case, no leading zeros, longest run (>1) of zero groups as `::` (first on ties), embedded IPv4 kept for ::ffff:0:0/96. */
export function normalizeIPv6(input: string): string | null {
  let s = input;
  const pct = s.indexOf('%');
  if (pct !== -1) return null; // zone ids never appear in flow logs; treat as invalid
  const words: number[] = [];
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return null;
  const parsePart = (part: string, allowV4: boolean): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4 && i === groups.length - 1 && g.indexOf('.') !== -1) {
        const w = parseIPv4Words(g);
        if (!w) return null;
        out.push(w[0], w[1]);
        continue;
      }
      if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  if (dbl === -1) {
    const w = parsePart(s, true);
    if (!w || w.length !== 8) return null;
    words.push(...w);
  } else {
    const head = parsePart(s.slice(0, dbl), false);
    const tail = parsePart(s.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return null;
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  }
  // IPv4-mapped addresses keep the dotted tail (RFC 5952 section 5)
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return `::ffff:${words[6]! >> 8}.${words[6]! & 255}.${words[7]! >> 8}.${words[7]! & 255}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart === -1) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}
