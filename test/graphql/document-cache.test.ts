import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'graphql';
import { DocumentCache } from '../../src/graphql/document-cache.js';

test('one parsed document per query text, least recently used evicted, long queries and parse errors not kept', () => {
  let parses = 0;
  const p = (q: string) => (parses++, parse(q));
  const c = new DocumentCache(2, 40);
  const a = c.get('{ a }', p);
  assert.equal(c.get('{ a }', p), a, 'the same text shares one document');
  c.get('{ b }', p);
  c.get('{ a }', p); // a is now the most recent
  c.get('{ c }', p); // evicts b
  assert.equal(c.size, 2);
  const before = parses;
  c.get('{ a }', p);
  c.get('{ b }', p);
  assert.equal(parses, before + 1, 'a was kept, b was evicted');
  const long = `{ ${'x '.repeat(30)}}`;
  assert.notEqual(c.get(long, p), c.get(long, p), 'a query over maxQueryChars is parsed each time');
  assert.throws(() => c.get('{', p));
  assert.equal(c.size, 2);
});
