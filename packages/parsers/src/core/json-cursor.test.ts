import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Interner } from './intern.js';
import { END, FAIL, JsonCursor, jsonKeys, UNKNOWN, type JsonKeys } from './json-cursor.js';

/** The cursor's pieces, callable from a test. */
class Probe extends JsonCursor {
  at(text: string, from = 0): this {
    const b = Buffer.from(text);
    this.reset(b, from, b.length);
    return this;
  }
  key(ks: JsonKeys, first: boolean) {
    return this.nextKey(ks, first);
  }
  skip() {
    return this.skipValue(0);
  }
  integer(): number | false {
    return this.int() ? this.iv : false;
  }
  number() {
    return this.num();
  }
  string(it: Interner) {
    return this.internedOrNull(it);
  }
  end() {
    return this.atEnd();
  }
}

test('nextKey: known keys by index (predicted or not), UNKNOWN, END and FAIL; the position on the value', () => {
  const ks = jsonKeys('a', 'bb');
  const c = new Probe().at('{ "bb" : 1, "zz": 2, "a":3 }', 1);
  assert.equal(c.key(ks, true), 1);
  assert.equal(c.integer(), 1);
  assert.equal(c.key(ks, false), UNKNOWN);
  assert.equal(c.skip(), true);
  assert.equal(c.key(ks, false), 0);
  assert.equal(c.integer(), 3);
  assert.equal(c.key(ks, false), END);
  assert.equal(c.end(), true);
  assert.equal(new Probe().at('{"a\\u0041":1}', 1).key(ks, true), FAIL, 'an escape is declined');
  assert.equal(new Probe().at('{"a" 1}', 1).key(ks, true), FAIL);
  // the order seen is learned: the same line again matches by prediction, with the same results
  const again = new Probe().at('{"bb":1,"a":2}', 1);
  assert.equal(again.key(ks, true), 1);
  again.integer();
  assert.equal(again.key(ks, false), 0);
});

test('skipValue checks syntax as JSON.parse would, and declines escapes and deep nesting', () => {
  for (const ok of ['{"x":[1,-2.5e3,true,false,null,{"y":"z"}]}', '[]', '{}', '"s"', '0', '-0.0']) {
    const c = new Probe().at(ok);
    assert.equal(c.skip(), true, ok);
    assert.equal(c.end(), true, ok);
  }
  for (const bad of ['[1,]', '{"x":01}', '"a\\"b"', 'tru', '1.', '[1 2]', '{"x" 1}', '1 2']) {
    const c = new Probe().at(bad);
    assert.equal(c.skip() && c.end(), false, bad);
  }
  assert.equal(new Probe().at('['.repeat(40) + ']'.repeat(40)).skip(), false, 'deeper than 32');
});

test('int: JSON integers and decimal strings (proto3 int64), null as NaN; fractions and leading zeros declined', () => {
  assert.equal(new Probe().at('42').integer(), 42);
  assert.equal(new Probe().at('"9007199254740"').integer(), 9007199254740);
  assert.equal(new Probe().at('-7').integer(), -7);
  assert.ok(Number.isNaN(new Probe().at('null').integer() as number));
  for (const no of ['5.0', '1e3', '012', '"12', '""', '1234567890123456']) assert.equal(new Probe().at(no).integer(), false, no);
});

test('num reads any JSON number; NaN for what is not one', () => {
  assert.equal(new Probe().at('2').number(), 2);
  assert.equal(new Probe().at('-1.5E+2').number(), -150);
  assert.ok(Number.isNaN(new Probe().at('01').number()));
  assert.ok(Number.isNaN(new Probe().at('"2"').number()));
});

test('internedOrNull: strings decoded once and interned, null, and undefined for escapes, controls or other values', () => {
  const it = new Interner(16);
  assert.equal(new Probe().at('"zone-ä"').string(it), 'zone-ä');
  assert.equal(it.size, 1);
  assert.equal(new Probe().at('"zone-ä"').string(it), 'zone-ä');
  assert.equal(it.size, 1);
  assert.equal(new Probe().at('null').string(it), null);
  assert.equal(new Probe().at('"a\\nb"').string(it), undefined);
  assert.equal(new Probe().at('"a\tb"').string(it), undefined);
  assert.equal(new Probe().at('12').string(it), undefined);
  assert.equal(new Probe().at('"open').string(it), undefined);
});
