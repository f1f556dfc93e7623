import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedSerial } from '../../src/core/keyed-serial.js';

/** A promise and the function that settles it, so the test decides when work ends. */
function gate(): { promise: Promise<void>; open: () => void; fail: (e: Error) => void } {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

test('work of one key runs in order, one at a time; other keys do not wait for it', async () => {
  const s = new KeyedSerial();
  const log: string[] = [];
  const g1 = gate();
  const a1 = s.run('a', async () => {
    log.push('a1 start');
    await g1.promise;
    log.push('a1 end');
  });
  const a2 = s.run('a', async () => {
    log.push('a2');
  });
  const b1 = s.run('b', async () => {
    log.push('b1');
  });
  await b1;
  assert.deepEqual(log, ['a1 start', 'b1'], 'b ran while a1 was still running; a2 waited');
  g1.open();
  await Promise.all([a1, a2]);
  assert.deepEqual(log, ['a1 start', 'b1', 'a1 end', 'a2']);
});

test('a failed work rejects its own promise only, the next work of the key still runs', async () => {
  const s = new KeyedSerial();
  const g = gate();
  const first = s.run('k', () => g.promise);
  const second = s.run('k', async () => 'ran');
  g.fail(new Error('boom'));
  await assert.rejects(first, /boom/);
  assert.equal(await second, 'ran');
});

test('a key is forgotten once its work settles', async () => {
  const s = new KeyedSerial();
  const g = gate();
  const p = s.run('k', () => g.promise);
  assert.equal(s.size, 1);
  g.open();
  await p;
  await new Promise((r) => setImmediate(r));
  assert.equal(s.size, 0);
});
