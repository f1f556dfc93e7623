import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PROVIDERS, openWithFallback, parseProviders } from '../../src/score/providers.js';

test('parseProviders: default order, trimming, case, duplicates', () => {
  assert.deepEqual(parseProviders(undefined), [...DEFAULT_PROVIDERS]);
  assert.deepEqual(parseProviders(' '), ['cuda', 'webgpu', 'cpu']);
  assert.deepEqual(parseProviders('WebGPU, cpu,,cpu'), ['webgpu', 'cpu']);
});

test('openWithFallback records each failure in order and stops at the first success', async () => {
  const tried: string[] = [];
  const r = await openWithFallback(['a', 'b', 'c', 'd'], async (p) => {
    tried.push(p);
    if (p !== 'c') throw new Error(`${p} is not here\nsecond line`);
    return 42;
  });
  assert.deepEqual(tried, ['a', 'b', 'c']);
  assert.equal(r.value, 42);
  assert.equal(r.provider, 'c');
  assert.deepEqual(r.attempts, [
    { provider: 'a', ok: false, error: 'a is not here' },
    { provider: 'b', ok: false, error: 'b is not here' },
    { provider: 'c', ok: true },
  ]);
});

test('openWithFallback: when none loads, the error lists every attempt', async () => {
  await assert.rejects(openWithFallback(['x', 'y'], async (p) => { throw new Error(`no ${p}`); }), (e: Error & { attempts?: unknown[] }) => {
    assert.match(e.message, /x: no x; y: no y/);
    assert.equal(e.attempts?.length, 2);
    return true;
  });
});
