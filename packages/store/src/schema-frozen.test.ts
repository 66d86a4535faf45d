import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOUDS, FIELD_LIST } from '@sightline/flow';
import { TGW_FLOW_COLUMNS, V1_FLOW_COLUMNS, V5_CLOUD_OWN_COLUMNS, v5CloudColumns } from './schema-frozen.js';
import { cloudFlowTable, RAW_FLOW_TABLES } from './schema.js';

// The frozen per-cloud column sets must be the field table's own split of those columns: a column
// left out of its cloud's table would lose that cloud's values, one put in the wrong table would
// hold only nulls there.
test('layout (b): each cloud table has the frozen columns the field table gives that cloud, and every column has a table', () => {
  const frozen = [...V1_FLOW_COLUMNS, ...TGW_FLOW_COLUMNS];
  const spec = new Map(FIELD_LIST.map((f) => [f.name, f]));
  assert.deepEqual(Object.keys(V5_CLOUD_OWN_COLUMNS).sort(), [...CLOUDS].sort());
  for (const cloud of CLOUDS) {
    const expected = frozen.filter((c) => {
      const f = spec.get(c.name);
      assert.ok(f, `frozen column ${c.name} is no field of the field table`);
      // the Kubernetes ends are filled for every cloud: the field table lists all three
      return f.clouds.length === 0 || f.clouds.includes(cloud);
    });
    assert.deepEqual(v5CloudColumns(cloud).map((c) => c.name), expected.map((c) => c.name), `${cloud} table columns`);
  }
  const covered = new Set(CLOUDS.flatMap((c) => v5CloudColumns(c).map((x) => x.name)));
  assert.deepEqual(frozen.filter((c) => !covered.has(c.name)), [], 'every frozen column is in some cloud table');
  assert.deepEqual(Object.values(V5_CLOUD_OWN_COLUMNS).flat().filter((n) => !frozen.some((c) => c.name === n)), [], 'no unknown names');
  assert.deepEqual(RAW_FLOW_TABLES, ['flows_aws', 'flows_gcp', 'flows_azure', 'flows_wide']);
  assert.equal(cloudFlowTable('gcp'), 'flows_gcp');
});
