/**
 * Pipeline after a stall (a paused process: GC, frozen VM, SIGSTOP): the window's idle clock
 * skips the pause, and with fencing the ownership is re-verified before the window ticks or takes
 * a chunk again. Explicit clock and events, no sleeps beyond the ticker's own 5 ms period.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { createMetrics } from '../../src/app/metrics.js';
import type { WindowOutput, WindowStage } from '../../src/core/ports.js';
import { Pipeline } from '../../src/app/pipeline.js';
import type { RawChunk, Scorer, ScorePublisher, ScoreStore } from '../../src/core/ports.js';
import type { MediaChunk } from '../../src/core/types.js';

function waitFor(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      }
    }, 1);
  });
}

test('a 40 s stall: no tick until ownership is verified, and the window\'s clock skips the pause', { timeout: 10_000 }, async () => {
  let clock = 1_000_000;
  const ticks: number[] = [];
  const accepted: number[] = [];
  const window: WindowStage = {
    accept: (_c, now) => {
      accepted.push(now);
      return [] as WindowOutput[];
    },
    tick: (now) => {
      ticks.push(now);
      return [];
    },
    flush: () => [],
  };
  let verifications = 0;
  let release: () => void = () => {};
  const p = new Pipeline({
    window,
    scorer: {} as Scorer,
    store: {} as ScoreStore,
    publisher: {} as ScorePublisher,
    release: () => {},
    reject: async () => {},
    labeler: () => ({ label: 'NEUTRAL', confidence: 1 }),
    flags: () => ({ text: 'MISSING', audio: 'PRESENT', video: 'MISSING' }),
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    tickMs: 5,
    stallMs: 2_000,
    now: () => clock,
    fencing: {
      token: async () => undefined,
      fenced: () => {},
      verify: () => {
        verifications++;
        return new Promise<void>((r) => (release = r));
      },
    },
  });
  p.start();
  await waitFor(() => ticks.length >= 2);
  assert.deepEqual([...new Set(ticks)], [1_000_000], 'ticks see the clock as is');

  clock += 40_000; // the process was stopped for 40 s
  await waitFor(() => verifications === 1);
  const ticksAtWake = ticks.length;
  // a chunk of the stale batch waits for the verification too
  const chunk = { callId: 'c', tenant: 't', modality: 'control', kind: 'call_start', channel: 'x', seq: 0, eventTimeMs: 0, durationMs: 0 } as unknown as MediaChunk;
  const fed = p.onChunk(chunk, {} as RawChunk);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(ticks.length, ticksAtWake, 'no tick while ownership is verified');
  assert.deepEqual(accepted, [], 'no chunk taken while ownership is verified');
  release();
  await fed;
  await waitFor(() => ticks.length > ticksAtWake);
  assert.equal(accepted.length, 1);
  // The window's clock moved only by one tick period across the 40 s pause.
  assert.ok(ticks[ticks.length - 1] - 1_000_000 <= 5, `window clock after the stall: +${ticks[ticks.length - 1] - 1_000_000} ms`);
  assert.equal(verifications, 1);
  await p.drain();
});
