import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOUDS, colIndex, FlowBatch } from '@sightline/flow';
import { routeBatch, tableFields } from './route.js';
import { v5CloudColumns, V1_FLOW_COLUMNS, TGW_FLOW_COLUMNS } from './schema-frozen.js';

const clouds = CLOUDS.map((c) => tableFields(v5CloudColumns(c).map((x) => x.name)));
const wide = tableFields([...V1_FLOW_COLUMNS, ...TGW_FLOW_COLUMNS].map((c) => c.name));
const AWS = CLOUDS.indexOf('aws');
const GCP = CLOUDS.indexOf('gcp');
const WIDE = CLOUDS.length;

function batch(rows: { cloud: string | null; field?: [string, string] }[]): FlowBatch {
  const b = new FlowBatch(rows.length);
  for (const [r, row] of rows.entries()) {
    b.strings(colIndex('cloud'))[r] = row.cloud;
    if (row.field) b.strings(colIndex(row.field[0]))[r] = row.field[1];
  }
  b.length = rows.length;
  return b;
}

test('a batch of one cloud goes whole to that cloud\'s table, uncopied', () => {
  assert.deepEqual(routeBatch(batch([{ cloud: 'gcp' }, { cloud: 'gcp', field: ['reporter', 'SRC'] }]), clouds, wide, 't'), [{ table: GCP, rows: undefined }]);
});

test('mixed clouds split by row, rows without a cloud or with another cloud\'s field go to the wide table', () => {
  const parts = routeBatch(
    batch([{ cloud: 'aws' }, { cloud: 'gcp' }, { cloud: null }, { cloud: 'aws', field: ['reporter', 'SRC'] }, { cloud: 'aws', field: ['vpc_id', 'vpc-1'] }]),
    clouds,
    wide,
    't',
  );
  assert.deepEqual(
    parts.map((p) => [p.table, Array.from(p.rows ?? [])]),
    [
      [AWS, [0, 4]],
      [GCP, [1]],
      [WIDE, [2, 3]],
    ],
  );
});

test('a value in a column no raw table has fails the batch, naming the field and the row', () => {
  const noReporter = tableFields([...V1_FLOW_COLUMNS].map((c) => c.name).filter((n) => n !== 'reporter'));
  assert.throws(() => routeBatch(batch([{ cloud: 'aws', field: ['reporter', 'SRC'] }]), clouds, noReporter, 'duckdb batch b1'), /duckdb batch b1: no raw table has a column reporter \(row 0/);
  assert.deepEqual(routeBatch(new FlowBatch(1), clouds, wide, 't'), []);
});
