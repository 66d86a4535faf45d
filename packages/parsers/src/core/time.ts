/** Times as the flow logs write them, to epoch milliseconds. Shared by every format. */

const digit = (s: string, i: number): number => {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1000;
};
const two = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1);

/**
 * RFC 3339 (`2019-06-14T03:45:37.301953198Z`, offsets allowed) to epoch milliseconds, with the
 * sub-millisecond digits kept as the fraction of the double; NaN when malformed. Hand-written
 * because Date.parse drops everything after the millisecond and is slower.
 */
export function parseRfc3339Ms(s: string): number {
  const n = s.length;
  if (n < 20) return NaN;
  const y = two(s, 0) * 100 + two(s, 2);
  const mo = two(s, 5);
  const d = two(s, 8);
  const h = two(s, 11);
  const mi = two(s, 14);
  const se = two(s, 17);
  const t = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (t !== 84 && t !== 116 && t !== 32) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return NaN;
  let i = 19;
  let frac = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    let scale = 100;
    const from = i;
    while (i < n) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      frac += c * scale;
      scale /= 10;
      i++;
    }
    if (i === from) return NaN;
  }
  let off = 0;
  const z0 = s.charCodeAt(i);
  if ((z0 === 90 || z0 === 122) && i + 1 === n) off = 0;
  else if ((z0 === 43 || z0 === 45) && i + 6 === n && s.charCodeAt(i + 3) === 58) {
    const oh = two(s, i + 1);
    const om = two(s, i + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    off = (oh * 60 + om) * 60000 * (z0 === 43 ? 1 : -1);
  } else return NaN;
  // Date.UTC reads years 0-99 as 1900-1999; keep that for them, integer arithmetic otherwise
  const day = y < 100 ? Math.floor(Date.UTC(y, mo - 1, d) / 86_400_000) : daysFromCivil(y, mo, d);
  return day * 86_400_000 + ((h * 60 + mi) * 60 + se) * 1000 + frac - off;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil): a few
 * integer operations where Date.UTC is a runtime call, and linear in `d`, so day 31 of a
 * short month rolls over exactly as Date.UTC does.
 */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}


/**
 * Tuple time to epoch ms. The docs say "UNIX epoch" but samples carry 13-digit milliseconds
 * as well as 10-digit seconds: anything below 1e11 (year 5138 in seconds, 1973 in ms) is seconds.
 */
export const tupleTimeMs = (v: number): number => (v < 1e11 ? v * 1000 : v);

