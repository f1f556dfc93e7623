import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCursor, encodeCursor } from '../../src/store/cursor.js';

test('cursors round-trip their key and are URL-safe', () => {
  const c = encodeCursor('seg', [1_700_000_000_123.5, 'cust/ö', 3, 1]);
  assert.match(c, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeCursor('seg', c), [1_700_000_000_123.5, 'cust/ö', 3, 1]);
  assert.deepEqual(decodeCursor('since', encodeCursor('since', [5, 9])), [5, 9]);
});

test('wrong kind, wrong arity, non-finite numbers and oversize input are BAD_CURSOR', () => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const bad = [
    encodeCursor('call', [1, 'a', 'b']),
    enc({ v: 1, k: 'seg', p: [1, 'a', 2] }),
    enc({ v: 1, k: 'seg', p: [null, 'a', 2, 3] }),
    enc({ v: 1, k: 'seg', p: [1e400, 'a', 2, 3] }),
    enc([1, 2]),
    'A'.repeat(5000),
    'a+b/c=',
  ];
  for (const c of bad) assert.throws(() => decodeCursor('seg', c), (e: any) => e.code === 'BAD_CURSOR', c.slice(0, 40));
});

test('alert and summary cursors: one codec, and the former analytics codec still decodes', () => {
  const legacy = (...k: unknown[]) => Buffer.from(JSON.stringify(k)).toString('base64url');
  assert.deepEqual(decodeCursor('alert', encodeCursor('alert', [12.5, 'acme:c:customer:SHARP_DROP:3'])), [12.5, 'acme:c:customer:SHARP_DROP:3']);
  assert.deepEqual(decodeCursor('summary', encodeCursor('summary', [9, 'c', 'acme'])), [9, 'c', 'acme']);
  assert.deepEqual(decodeCursor('alert', legacy('alert', 12.5, 'id')), [12.5, 'id']);
  assert.deepEqual(decodeCursor('summary', legacy('summary', 9, 'c', 'acme')), [9, 'c', 'acme']);
  assert.deepEqual(decodeCursor('summary', legacy('summary', 9, 'c')), [9, 'c'], 'a tenant-less summary cursor (before tenants keyed summaries)');
  const bad: [Parameters<typeof decodeCursor>[0], string][] = [
    ['alert', legacy('summary', 9, 'c', 'acme')],
    ['summary', legacy('alert', 9, 'c')],
    ['alert', legacy('alert', 9, 'c', 'extra')],
    ['alert', legacy('alert', 'nine', 'c')],
    ['seg', legacy('seg', 1, 'a', 2, 3)],
    ['call', legacy('call', 1, 'a', 'b')],
    ['summary', encodeCursor('alert', [9, 'c'])],
  ];
  for (const [kind, c] of bad) assert.throws(() => decodeCursor(kind, c), (e: any) => e.code === 'BAD_CURSOR', `${kind} ${c}`);
});
