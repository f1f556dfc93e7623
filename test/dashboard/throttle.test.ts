/** The call page's refresh throttle (dashboard/src/throttle.ts), on a hand-driven clock. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Clock, Throttle } from '../../dashboard/src/throttle.js';

/** A clock whose time moves only when the test says; timers fire in time order. */
function manualClock() {
  let now = 0;
  let timers: { at: number; f: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimeout: (f, ms) => {
      const t = { at: now + ms, f };
      timers.push(t);
      return t;
    },
    clearTimeout: (t) => (timers = timers.filter((x) => x !== t)),
  };
  /** Moves time on by `ms`, firing each timer at its own time. */
  const advance = async (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers = timers.filter((t) => t !== due);
      now = due.at;
      due.f();
      await settle();
    }
    now = end;
  };
  return { clock, advance, pending: () => timers.length };
}

/** Lets the runs' promise callbacks settle. */
const settle = () => new Promise((r) => setImmediate(r));

/** A run the test finishes by hand, recording when each started. */
function runs(clock: Clock) {
  const starts: number[] = [];
  let finish: (() => void) | null = null;
  const run = () => {
    starts.push(clock.now());
    return new Promise<void>((r) => (finish = r));
  };
  const done = async () => {
    finish?.();
    finish = null;
    await settle();
  };
  return { starts, run, done };
}

test('a burst of pokes makes one run now and one trailing run, at most one per gap', async () => {
  const c = manualClock();
  const r = runs(c.clock);
  const th = new Throttle(2000, r.run, c.clock);
  th.poke();
  assert.deepEqual(r.starts, [0], 'the first poke runs at once');
  for (let i = 0; i < 20; i++) th.poke();
  await c.advance(50);
  await r.done();
  assert.deepEqual(r.starts, [0], 'pokes during the run wait for the gap');
  await c.advance(1950);
  assert.deepEqual(r.starts, [0, 2000], 'one trailing run for the whole burst');
  await r.done();
  await c.advance(10_000);
  assert.deepEqual(r.starts, [0, 2000], 'nothing more without a poke');
});

test('pokes that keep coming faster than the gap still refresh every gap (no debounce starvation)', async () => {
  const c = manualClock();
  const r = runs(c.clock);
  const th = new Throttle(2000, r.run, c.clock);
  for (let t = 0; t < 7000; t += 300) {
    th.poke();
    await c.advance(300);
    await r.done();
  }
  assert.deepEqual(r.starts, [0, 2000, 4000, 6000]);
});

test('a run slower than the gap is never overlapped; the poke it missed runs when it ends', async () => {
  const c = manualClock();
  const r = runs(c.clock);
  const th = new Throttle(2000, r.run, c.clock);
  th.poke();
  await c.advance(5000);
  th.poke();
  assert.deepEqual(r.starts, [0], 'still in flight');
  await r.done();
  assert.deepEqual(r.starts, [0, 5000], 'the gap has passed: runs as soon as the slow one ended');
});

test('stop cancels the trailing run', async () => {
  const c = manualClock();
  const r = runs(c.clock);
  const th = new Throttle(2000, r.run, c.clock);
  th.poke();
  await r.done();
  th.poke();
  assert.equal(c.pending(), 1);
  th.stop();
  await c.advance(5000);
  assert.deepEqual(r.starts, [0]);
});
