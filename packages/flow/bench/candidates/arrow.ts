import { DataType, Dictionary, Int32, makeData, makeVector, Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { FIELD_LIST, FlowBatch, type StringColumn } from '../../src/index.js';
import type { Format } from './types.js';

/**
 * Arrow IPC stream: one Float64 column per number/time field (NaN for null, as in FlowBatch,
 * so no validity bitmap and zero-copy on encode), one Dictionary<Utf8, Int32> column per string
 * field with a validity bitmap, and `extra` as a nullable Utf8 column of JSON objects.
 * Dictionaries are built here with a Map (the fastest route through apache-arrow's JS API).
 */
const INDEX = new Map(FIELD_LIST.map((s, i) => [s.name, i]));

function dictVector(col: StringColumn, n: number): Vector {
  const indices = new Int32Array(n);
  const bitmap = new Uint8Array((n + 7) >> 3);
  const map = new Map<string, number>();
  const dict: string[] = [];
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = col[i];
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    let id = map.get(v);
    if (id === undefined) {
      id = dict.length;
      dict.push(v);
      map.set(v, id);
    }
    indices[i] = id;
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  const type = new Dictionary(new Utf8(), new Int32());
  const dictionary = vectorFromArray(dict, new Utf8());
  return makeVector(makeData({ type, length: n, nullCount: nulls, nullBitmap: nulls ? bitmap : null, data: indices, dictionary }));
}

export const arrowFormat: Format = {
  name: 'arrow-ipc',
  encode(batch) {
    const n = batch.length;
    const vectors: Record<string, Vector> = {};
    for (let i = 0; i < FIELD_LIST.length; i++) {
      const c = batch.columns[i];
      if (c === undefined) continue;
      const name = FIELD_LIST[i]!.name;
      vectors[name] = c instanceof Float64Array ? makeVector(c.subarray(0, n)) : dictVector(c, n);
    }
    if (batch.extra !== undefined) {
      const ex = new Array<string | null>(n);
      for (let r = 0; r < n; r++) {
        const e = batch.extra[r];
        ex[r] = e ? JSON.stringify(e) : null;
      }
      vectors.extra = vectorFromArray(ex, new Utf8());
    }
    return tableToIPC(new Table(vectors), 'stream');
  },
  decode(buf) {
    const table = tableFromIPC(buf);
    const n = table.numRows;
    const out = new FlowBatch(Math.max(n, 1));
    for (const field of table.schema.fields) {
      const vec = table.getChild(field.name)!;
      if (field.name === 'extra') {
        const ex = out.extras();
        for (let r = 0; r < n; r++) {
          const s = vec.get(r) as string | null;
          if (s !== null) ex[r] = JSON.parse(s) as Record<string, string>;
        }
        continue;
      }
      const index = INDEX.get(field.name)!;
      let row = 0;
      if (!DataType.isDictionary(field.type)) {
        const col = out.numbers(index);
        for (const d of vec.data) {
          col.set((d.values as Float64Array).subarray(0, d.length), row);
          row += d.length;
        }
        continue;
      }
      const col = out.strings(index);
      for (const d of vec.data) {
        const dict = d.dictionary!.toArray() as string[];
        const idx = d.values as Int32Array;
        if (d.nullCount === 0) for (let i = 0; i < d.length; i++) col[row + i] = dict[idx[i]!]!;
        else for (let i = 0; i < d.length; i++) col[row + i] = d.getValid(i) ? dict[idx[i]!]! : null;
        row += d.length;
      }
    }
    out.length = n;
    return out;
  },
};
