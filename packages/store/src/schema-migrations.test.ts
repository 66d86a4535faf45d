import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { clickhouseMigrations, featuresFor } from './clickhouse-schema.js';
import { duckdbMigrations } from './duckdb-schema.js';
import { CLOUDS } from '@sightline/flow';
import { cloudFlowTable, STORED_FIELDS, WIDE_FLOW_TABLE } from './schema.js';

/**
 * Migrations are append-only: stores created by an earlier release have recorded theirs as applied
 * and never run them again, so an edit of an old migration reaches only new stores. These are the
 * SQL hashes of every migration released; a change fails here. Add a migration instead (and its
 * hash below), never change a hash.
 */
const RELEASED: Record<string, Record<number, string>> = {
  duckdb: { 1: 'b166a828d269f573', 2: '4f99a7e921f0ab9b', 3: 'd082c54c7b3bb05f', 4: 'f09193b0ed961e82', 5: '61966be315d527d4' },
  'clickhouse 18.16': { 1: '2f5de8ffaf73c00c', 2: 'cf2eecfe79ebc8b2', 3: 'ed967d93d33ce549', 4: 'e3b0c44298fc1c14', 5: '220a104a0c0a4a41', 6: '13ee6ab8da99dbfd', 7: '08612e9552944ca9', 8: '7dfc03e76d2e547b', 9: '6b34d54ca1ad2917', 10: 'decbda6c411971c1' },
  'clickhouse 18.16 LowCardinality': { 1: 'd0265db8f7d48aa3', 2: '2f1e54e7e64866e5', 3: 'ed967d93d33ce549', 4: 'e3b0c44298fc1c14', 5: '718610ef9fe98d6d', 6: '13ee6ab8da99dbfd', 7: '08612e9552944ca9', 8: 'e7a397c59380d4fd', 9: '2af7d0064a5efccb', 10: 'decbda6c411971c1' },
  'clickhouse 26.1': { 1: 'f8b8ebf158d2b7c7', 2: '32c1929678bb6535', 3: 'd0625bd0a1f6572d', 4: 'f940903ebc2cf9a0', 5: '13511f365b5e90f2', 6: '9d63d99bef9916b1', 7: '08612e9552944ca9', 8: '79136ea9760c9a04', 9: 'd88bd50a36042777', 10: 'e3b0c44298fc1c14' },
};

const hash = (ss: readonly string[]): string => createHash('sha256').update(ss.join('\n;\n')).digest('hex').slice(0, 16);

function current(): Record<string, { version: number; statements: readonly string[] }[]> {
  return {
    duckdb: duckdbMigrations(),
    'clickhouse 18.16': clickhouseMigrations('sightline', featuresFor('18.16.1', false)),
    'clickhouse 18.16 LowCardinality': clickhouseMigrations('sightline', featuresFor('18.16.1', true)),
    'clickhouse 26.1': clickhouseMigrations('sightline', featuresFor('26.1.1', false)),
  };
}

test('released migrations keep their SQL (append-only: a change is a new migration)', () => {
  for (const [variant, ms] of Object.entries(current())) {
    const versions = ms.map((m) => m.version);
    assert.deepEqual(versions, versions.map((_, i) => i + 1), `${variant}: versions are 1..n in order`);
    for (const [v, h] of Object.entries(RELEASED[variant]!)) {
      const m = ms.find((x) => x.version === Number(v));
      assert.ok(m, `${variant}: released migration ${v} is gone`);
      assert.equal(hash(m.statements), h, `${variant}: migration ${v} was edited; add a new migration instead`);
    }
  }
});

test('duckdb: the flows columns built by replaying the migrations are the field table, with the stored types; each cloud table has its cloud\'s fields', async () => {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    for (const m of duckdbMigrations()) for (const sql of m.statements) await conn.run(sql);
    const columns = async (table: string): Promise<Map<string, string>> => {
      const rows = (await conn.runAndReadAll(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`)).getRowObjectsJS();
      return new Map(rows.map((r) => [String(r.column_name), String(r.data_type)]));
    };
    const want = new Map<string, string>([['tenant', 'VARCHAR'], ['batch_id', 'VARCHAR'], ['row_no', 'INTEGER'], ['ts', 'TIMESTAMP'], ['extra', 'VARCHAR']]);
    const typeOf = (f: (typeof STORED_FIELDS)[number]): string => (f.spec.kind === 'string' ? 'VARCHAR' : f.spec.kind === 'time' ? 'TIMESTAMP' : f.integer ? 'BIGINT' : 'DOUBLE');
    for (const f of STORED_FIELDS) want.set(f.spec.name, typeOf(f));
    // the view the query API and SQL users read, and the wide table of the stores before migration 5
    for (const table of ['flows', WIDE_FLOW_TABLE]) {
      assert.deepEqual([...(await columns(table))].sort(), [...want].sort(), `${table}: a field of the field table without its migration (or a column without its field)`);
    }
    // layout (b): a field is a column of the table of each cloud whose records carry it (every cloud's when common)
    for (const cloud of CLOUDS) {
      const mine = new Map([...want].filter(([name]) => {
        const f = STORED_FIELDS.find((x) => x.spec.name === name);
        return f === undefined || f.spec.clouds.length === 0 || f.spec.clouds.includes(cloud);
      }));
      assert.deepEqual([...(await columns(cloudFlowTable(cloud)))].sort(), [...mine].sort(), `${cloudFlowTable(cloud)}: a field of ${cloud} without its migration (or a column that is not ${cloud}'s)`);
    }
  } finally {
    conn.closeSync();
  }
});

test("clickhouse: each cloud table has its cloud's fields, and the flows view every field of the field table, after every migration (9 and later)", () => {
  for (const ft of [featuresFor('18.16.1', false), featuresFor('26.1.1', false)]) {
    const all = clickhouseMigrations('sightline', ft).flatMap((m) => m.statements);
    /** a table's columns: its CREATE TABLE (migration 9), then what later ALTERs add */
    const columnsOf = (table: string): string[] => {
      const create = all.find((x) => x.startsWith(`CREATE TABLE IF NOT EXISTS \`sightline\`.\`${table}\` (`));
      assert.ok(create, `${ft.version}: a migration creates ${table}`);
      const cols = [...create.matchAll(/^\s+`?(\w+)`? (?:Nullable|LowCardinality|String|UInt32|DateTime)/gm)].map((x) => x[1]!);
      for (const alter of all.filter((x) => x.startsWith(`ALTER TABLE \`sightline\`.\`${table}\` `))) cols.push(...[...alter.matchAll(/ADD COLUMN (?:IF NOT EXISTS )?`(\w+)`/g)].map((x) => x[1]!));
      return cols;
    };
    for (const cloud of CLOUDS) {
      const want = STORED_FIELDS.filter((f) => f.spec.clouds.length === 0 || f.spec.clouds.includes(cloud)).map((f) => f.spec.name);
      assert.deepEqual(columnsOf(cloudFlowTable(cloud)).sort(), ['tenant', 'batch_id', 'row_no', 'ts', ...want, 'extra'].sort(), `${ft.version} ${cloudFlowTable(cloud)}: a field of ${cloud} without its migration (or a column that is not ${cloud}'s)`);
    }
    // the view as the last migration that makes it leaves it (a later field: DROP and CREATE again)
    const view = all.filter((x) => x.startsWith('CREATE VIEW IF NOT EXISTS `sightline`.`flows` AS')).at(-1);
    assert.ok(view, 'a migration makes the flows view');
    for (const branch of view.split('UNION ALL')) {
      const names = [...branch.matchAll(/(?:AS `(\w+)`|`(\w+)`(?=,| FROM))/g)].map((x) => x[1] ?? x[2]);
      for (const f of STORED_FIELDS) assert.ok(names.includes(f.spec.name), `${ft.version}: the flows view answers ${f.spec.name} in every branch`);
    }
  }
});
