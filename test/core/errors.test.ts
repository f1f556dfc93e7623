import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AppError, ERROR_CATALOGUE, toAppError } from '../../src/core/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));

test('every code in the catalogue is documented, and every documented code exists', () => {
  const codes = new Set(Object.keys(ERROR_CATALOGUE));
  assert.deepEqual([...codes].filter((c) => !documented.has(c)), [], 'codes missing from docs/errors.md');
  assert.deepEqual([...documented].filter((c) => !codes.has(c)), [], 'documented codes missing from src/core/errors.ts');
});

test('AppError renders its message from the details and keeps code, status, retriable', () => {
  const e = new AppError('CHUNK_PAYLOAD_TOO_LARGE', { bytes: 9000, limit: 4096 });
  assert.equal(e.message, 'payload of 9000 bytes exceeds the limit of 4096');
  assert.equal(e.code, 'CHUNK_PAYLOAD_TOO_LARGE');
  assert.equal(e.status, 413);
  assert.equal(e.retriable, false);
  assert.deepEqual(e.toJSON(), { code: 'CHUNK_PAYLOAD_TOO_LARGE', message: e.message, details: { bytes: 9000, limit: 4096 } });
});

test('toAppError keeps AppErrors and wraps anything else with a fallback code', () => {
  const original = new AppError('NOT_FOUND', { what: 'call x' });
  assert.equal(toAppError(original), original);
  const wrapped = toAppError(new Error('boom'), 'SCORER_FAILED');
  assert.equal(wrapped.code, 'SCORER_FAILED');
  assert.equal(wrapped.message, 'scoring failed: boom');
});
