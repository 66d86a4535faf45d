/**
 * JSON syntax errors of configuration files told by position only. V8's JSON.parse messages quote
 * the text around the error (`Unexpected token 'x', "...` on Node 20), and a configuration file
 * holds passwords and keys; some errors get no position at all. So a failed parse is scanned again
 * here to find where it stops being JSON, and the message gives the file, line and column.
 */

/**
 * Where a JSON text stops being JSON: the offset of the first character that cannot be there (the
 * text's length when it ends too early), or undefined when it is valid. Needed because V8's
 * JSON.parse messages quote the text around the error (`Unexpected token 'x', "...` on Node 20),
 * which can be a secret, and give no position at all for some errors.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const n = text.length;
  class Bad { constructor(readonly at: number) {} }
  const ws = () => { while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++; };
  const expect = (c: string) => { if (text[i] !== c) throw new Bad(i); i++; };
  const str = () => {
    expect('"');
    for (;;) {
      if (i >= n) throw new Bad(n);
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) throw new Bad(i);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Bad(i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Bad(i);
      } else i++;
    }
  };
  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws(); str(); ws(); expect(':'); value(); ws();
        if (text[i] === ',') { i++; continue; }
        expect('}'); return;
      }
    }
    if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ',') { i++; continue; }
        expect(']'); return;
      }
    }
    if (c === '"') { str(); return; }
    for (const lit of ['true', 'false', 'null']) if (text.startsWith(lit, i)) { i += lit.length; return; }
    NUM.lastIndex = i;
    if (NUM.exec(text) === null) throw new Bad(i >= n ? n : i);
    i = NUM.lastIndex;
  };
  try {
    value(); ws();
    if (i < n) throw new Bad(i);
    return undefined;
  } catch (err) {
    if (err instanceof Bad) return Math.min(err.at, n);
    throw err;
  }
}

/** Line and column (both from 1) of an offset in a text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) { line++; start = k + 1; }
  return { line, column: offset - start + 1 };
}

/**
 * `not valid JSON: unexpected character at line 3, column 117 (c.json:3:117)` for a text JSON.parse
 * refused; never any of the text itself.
 */
export function jsonSyntaxError(text: string, file: string): string {
  let at: number | undefined;
  try { at = jsonErrorOffset(text); } catch { at = undefined; /* nested too deep to scan */ }
  if (at === undefined) return 'not valid JSON';
  const { line, column } = lineColumn(text, at);
  return `not valid JSON: ${at >= text.length ? 'the text ends early' : 'unexpected character'} at line ${line}, column ${column} (${file}:${line}:${column})`;
}
