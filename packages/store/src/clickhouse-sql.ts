/**
 * Literals for ClickHouse SQL. ClickHouse 18.16 has no query parameters, so every value that
 * reaches a statement goes through one of these, and nothing else builds SQL from input.
 */

/** A string literal: backslash and quote escaped, control bytes as escapes, so no input can end the literal. */
export function quoteString(s: string): string {
  let out = "'";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + "'";
}

/** A number literal; refuses NaN and infinities rather than write `NaN` into a statement. */
export function quoteNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return String(n);
}

export function quoteValue(v: string | number): string {
  return typeof v === 'string' ? quoteString(v) : quoteNumber(v);
}

/** An identifier: letters, digits and underscore only (database and table names are ours, never input). */
export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid ClickHouse identifier ${JSON.stringify(name)}`);
  return '`' + name + '`';
}

/** One TabSeparated field: `\N` for null, and the escapes the format defines for the rest. */
export function tsvField(s: string): string {
  let need = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x00 || c === 0x08 || c === 0x0c) {
      need = true;
      break;
    }
  }
  if (!need) return s;
  return s.replace(/[\\\t\n\r\0\b\f]/g, (ch) => TSV_ESC[ch]!);
}
const TSV_ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', '\b': '\\b', '\f': '\\f' };
