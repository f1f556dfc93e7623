import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kind } from 'graphql';
import { DateTimeScalar } from '../../src/graphql/scalars.js';

test('DateTime serialises ms, ISO strings and Dates to ISO; parses inputs to ms', () => {
  const iso = '2024-05-01T10:00:00.000Z';
  const ms = Date.parse(iso);
  assert.equal(DateTimeScalar.serialize(ms), iso);
  assert.equal(DateTimeScalar.serialize('2024-05-01T12:00:00+02:00'), iso);
  assert.equal(DateTimeScalar.serialize(new Date(ms)), iso);
  assert.equal(DateTimeScalar.parseValue(iso), ms);
  assert.equal(DateTimeScalar.parseValue(ms), ms);
  assert.equal(DateTimeScalar.parseLiteral({ kind: Kind.STRING, value: iso }), ms);
  assert.equal(DateTimeScalar.parseLiteral({ kind: Kind.INT, value: String(ms) }), ms);
});

test('DateTime rejects what is not a time with BAD_REQUEST', () => {
  for (const bad of ['soon', '', null, {}, Number.NaN]) {
    assert.throws(() => DateTimeScalar.parseValue(bad), (e: any) => e.extensions?.code === 'BAD_REQUEST', String(bad));
  }
  assert.throws(() => DateTimeScalar.parseLiteral({ kind: Kind.BOOLEAN, value: true }), (e: any) => e.extensions?.code === 'BAD_REQUEST');
});
