import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigFileError, configFileArg, loadServiceConfig, parseServiceConfig } from './index.js';

const Own = z.strictObject({ kafka: z.strictObject({ brokers: z.array(z.string().regex(/:\d+$/, 'host:port')) }), password: z.string().min(30).optional() });

// Every service's loadConfig goes through these (collector, enricher, api, kubetags).
test("a service's own file: issues as place: message lines, never the value; unknown keys named", () => {
  assert.throws(() => parseServiceConfig({ kafka: { brokers: ['no-port'], brokerz: 1 }, password: 'hunter2' }, 'svc.json', Own), (e: unknown) => {
    assert.ok(e instanceof ConfigFileError);
    assert.deepEqual(e.problems.sort(), ['kafka.brokerz: unknown key', 'kafka.brokers[0]: host:port', 'password: Too small: expected string to have >=30 characters'].sort());
    assert.ok(!e.message.includes('hunter2') && !e.message.includes('no-port'));
    return true;
  });
});

test('loadServiceConfig reads JSON and YAML, and tells a syntax error by position only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-config-load-'));
  writeFileSync(join(dir, 'a.yaml'), 'kafka:\n  brokers: ["k:9092"]\n');
  assert.deepEqual(loadServiceConfig(join(dir, 'a.yaml'), Own), { kafka: { brokers: ['k:9092'] } });
  writeFileSync(join(dir, 'b.json'), '{"kafka": {"brokers": ["k:9092"]}, "password": hunter2hunter2}');
  assert.throws(() => loadServiceConfig(join(dir, 'b.json'), Own), (e: unknown) => e instanceof ConfigFileError && /not valid JSON: unexpected character at line 1, column 48/.test(e.message) && !e.message.includes('hunter2'));
  assert.throws(() => loadServiceConfig(join(dir, 'missing.json'), Own), /cannot read the file: ENOENT/);
});

test('configFileArg: --config FILE, else the environment variable, else the usage', () => {
  assert.equal(configFileArg('svc', 'SL_TEST_CONFIG_UNSET', ['node', 'main.js', '--config', '/etc/x.json']), '/etc/x.json');
  process.env.SL_TEST_CONFIG_SET = '/env.json';
  assert.equal(configFileArg('svc', 'SL_TEST_CONFIG_SET', ['node', 'main.js']), '/env.json');
  assert.throws(() => configFileArg('svc', 'SL_TEST_CONFIG_UNSET', ['node', 'main.js']), /usage: svc --config FILE \(or SL_TEST_CONFIG_UNSET\)/);
});
