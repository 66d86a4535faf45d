import protobuf from 'protobufjs';
import { FIELD_LIST, FlowBatch } from '../../src/index.js';
import type { Format } from './types.js';

/**
 * Protocol Buffers, row-oriented: `message Batch { repeated Flow rows = 1; }` with one optional
 * field per normalized field (string, sint64 for numbers, double for times) and a map for extra.
 * The schema is fixed (field numbers = table order + 1), as a real .proto would be. Numbers that
 * are not integers would need a double twin field; the benchmark data has none, which favours protobuf.
 */
const flow = new protobuf.Type('Flow');
FIELD_LIST.forEach((s, i) => flow.add(new protobuf.Field(s.name, i + 1, s.kind === 'string' ? 'string' : s.kind === 'time' ? 'double' : 'sint64')));
flow.add(new protobuf.MapField('extra', 1000, 'string', 'string'));
const batchType = new protobuf.Type('Batch').add(new protobuf.Field('rows', 1, 'Flow', 'repeated'));
new protobuf.Root().define('sightline').add(flow).add(batchType);
batchType.resolveAll();

const NAMES = FIELD_LIST.map((s) => s.name);
const INDEX = new Map(NAMES.map((n, i) => [n, i]));
type Long = { toNumber(): number };

export const protobufFormat: Format = {
  name: 'protobuf',
  encode(batch) {
    const present: number[] = [];
    for (let i = 0; i < FIELD_LIST.length; i++) if (batch.columns[i] !== undefined) present.push(i);
    const rows = new Array<Record<string, unknown>>(batch.length);
    for (let r = 0; r < batch.length; r++) {
      const o: Record<string, unknown> = {};
      for (const i of present) {
        const v = batch.columns[i]![r];
        if (v === null || v === undefined || (typeof v === 'number' && v !== v)) continue;
        o[NAMES[i]!] = v;
      }
      const ex = batch.extra?.[r];
      if (ex) o.extra = ex;
      rows[r] = o;
    }
    return batchType.encode({ rows }).finish();
  },
  decode(buf) {
    const msg = batchType.decode(buf) as unknown as { rows: Record<string, unknown>[] };
    const n = msg.rows.length;
    const out = new FlowBatch(Math.max(n, 1));
    for (let r = 0; r < n; r++) {
      const o = msg.rows[r]!;
      // decoded messages hold only the fields present on the wire as own properties
      for (const k of Object.keys(o)) {
        const v = o[k];
        if (k === 'extra') {
          if (Object.keys(v as object).length > 0) out.extras()[r] = v as Record<string, string>;
          continue;
        }
        const i = INDEX.get(k)!;
        if (typeof v === 'string') out.strings(i)[r] = v;
        else out.numbers(i)[r] = typeof v === 'number' ? v : (v as Long).toNumber();
      }
    }
    out.length = n;
    return out;
  },
};
