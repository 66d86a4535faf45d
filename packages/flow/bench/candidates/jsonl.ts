import { FIELD_LIST, FlowBatch, type Column } from '../../src/index.js';
import type { Format } from './types.js';

/**
 * JSON lines: one object per flow with its non-null fields, times as epoch ms numbers (exact,
 * unlike ISO strings), `extra` nested. The baseline every other format has to beat.
 */
const INDEX = new Map(FIELD_LIST.map((s, i) => [s.name, i]));

export const jsonl: Format = {
  name: 'jsonl',
  encode(batch) {
    const present = FIELD_LIST.map((s, i) => ({ key: JSON.stringify(s.name) + ':', col: batch.columns[i] })).filter((c) => c.col !== undefined);
    const lines: string[] = new Array<string>(batch.length);
    for (let r = 0; r < batch.length; r++) {
      let s = '{';
      let first = true;
      for (const { key, col } of present) {
        const v = col![r];
        if (v === null || v === undefined || (typeof v === 'number' && v !== v)) continue;
        if (!first) s += ',';
        first = false;
        s += key + (typeof v === 'number' ? String(v) : JSON.stringify(v));
      }
      const ex = batch.extra?.[r];
      if (ex) s += (first ? '' : ',') + '"extra":' + JSON.stringify(ex);
      lines[r] = s + '}';
    }
    return Buffer.from(lines.join('\n'), 'utf8');
  },
  decode(buf) {
    const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8');
    const lines = text.length === 0 ? [] : text.split('\n');
    const n = lines.length;
    const b = new FlowBatch(Math.max(n, 1));
    const cols: (Column | undefined)[] = b.columns;
    for (let r = 0; r < n; r++) {
      const o = JSON.parse(lines[r]!) as Record<string, unknown>;
      for (const k in o) {
        const v = o[k];
        if (k === 'extra') {
          b.extras()[r] = v as Record<string, string>;
          continue;
        }
        const i = INDEX.get(k);
        if (i === undefined) throw new Error(`line ${r + 1}: unknown field ${k}`);
        if (typeof v === 'number') b.numbers(i)[r] = v;
        else (cols[i] ?? b.strings(i))[r] = v as string;
      }
    }
    b.length = n;
    return b;
  },
};
