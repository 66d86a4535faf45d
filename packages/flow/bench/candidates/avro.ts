import avro from 'avsc';
import { FIELD_LIST, FlowBatch } from '../../src/index.js';
import type { Format } from './types.js';

/**
 * Avro, row-oriented: one record per flow, an array of records per message. The schema holds
 * only the columns present in the batch and uses nullable longs where a number column is all
 * integers; both favour Avro (a product would need a fixed schema and a registry to ship it).
 * Times stay doubles (NaN for null) to keep sub-millisecond precision.
 */
type Kind = 's' | 'l' | 'd' | 't';
interface Plan {
  type: avro.Type;
  cols: { name: string; index: number; kind: Kind }[];
}
const plans = new Map<string, Plan>();

function planFor(batch: FlowBatch, withExtra: boolean): Plan {
  const cols: Plan['cols'] = [];
  for (let i = 0; i < FIELD_LIST.length; i++) {
    const c = batch.columns[i];
    if (c === undefined) continue;
    const spec = FIELD_LIST[i]!;
    let kind: Kind = 's';
    if (c instanceof Float64Array) {
      kind = spec.kind === 'time' ? 't' : 'l';
      if (kind === 'l') for (let r = 0; r < batch.length; r++) if (c[r] === c[r] && !Number.isSafeInteger(c[r]!)) kind = 'd';
    }
    cols.push({ name: spec.name, index: i, kind });
  }
  const key = cols.map((c) => c.name + c.kind).join(',') + (withExtra ? '+x' : '');
  let plan = plans.get(key);
  if (!plan) {
    const fields: { name: string; type: unknown }[] = cols.map((c) => ({
      name: c.name,
      type: c.kind === 's' ? ['null', 'string'] : c.kind === 'l' ? ['null', 'long'] : c.kind === 'd' ? ['null', 'double'] : 'double',
    }));
    if (withExtra) fields.push({ name: 'extra', type: ['null', { type: 'map', values: 'string' }] });
    const type = avro.Type.forSchema({ type: 'array', items: { type: 'record', name: 'Flow', fields } } as avro.Schema);
    plan = { type, cols };
    plans.set(key, plan);
  }
  return plan;
}

// The decoder needs the writer's schema: carried here as a length-prefixed JSON preamble.
export const avroFormat: Format = {
  name: 'avro',
  encode(batch) {
    const withExtra = batch.extra !== undefined;
    const plan = planFor(batch, withExtra);
    const rows = new Array<Record<string, unknown>>(batch.length);
    for (let r = 0; r < batch.length; r++) {
      const o: Record<string, unknown> = {};
      for (const c of plan.cols) {
        const v = batch.columns[c.index]![r];
        o[c.name] = c.kind === 't' ? v : v === undefined || (typeof v === 'number' && v !== v) ? null : v;
      }
      if (withExtra) o.extra = batch.extra![r] ?? null;
      rows[r] = o;
    }
    const schema = Buffer.from(JSON.stringify(plan.type.schema()), 'utf8');
    const body = plan.type.toBuffer(rows);
    const out = Buffer.allocUnsafe(4 + schema.length + body.length);
    out.writeUInt32LE(schema.length, 0);
    schema.copy(out, 4);
    body.copy(out, 4 + schema.length);
    return out;
  },
  decode(buf) {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    const slen = b.readUInt32LE(0);
    const schemaText = b.toString('utf8', 4, 4 + slen);
    let plan = plans.get(schemaText);
    if (!plan) {
      const schema = JSON.parse(schemaText) as { items: { fields: { name: string; type: unknown }[] } };
      const cols = schema.items.fields
        .filter((f) => f.name !== 'extra')
        .map((f) => {
          const index = FIELD_LIST.findIndex((s) => s.name === f.name);
          const t = JSON.stringify(f.type);
          const kind: Kind = t.includes('string') ? 's' : t.includes('long') ? 'l' : t === '"double"' ? 't' : 'd';
          return { name: f.name, index, kind };
        });
      plan = { type: avro.Type.forSchema(schema as avro.Schema), cols };
      plans.set(schemaText, plan);
    }
    const rows = plan.type.fromBuffer(b.subarray(4 + slen)) as Record<string, unknown>[];
    const n = rows.length;
    const out = new FlowBatch(Math.max(n, 1));
    const targets = plan.cols.map((c) => ({ name: c.name, col: c.kind === 's' ? out.strings(c.index) : out.numbers(c.index) }));
    for (let r = 0; r < n; r++) {
      const o = rows[r]!;
      for (const t of targets) {
        const v = o[t.name];
        if (v !== null) t.col[r] = v as never;
      }
      const ex = o.extra as Record<string, string> | null | undefined;
      if (ex) out.extras()[r] = ex;
    }
    out.length = n;
    return out;
  },
};
