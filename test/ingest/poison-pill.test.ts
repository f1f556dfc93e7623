/**
 * Issue 13, finding 1: a well-formed record whose declared span is enormous (a text piece with a
 * huge `x-duration-ms`, a video chunk with a tiny `x-fps`) made the window cut it into steps
 * synchronously, freezing the event loop for seconds to hours. Each such record must now be
 * rejected with a typed code in well under the 50 ms per-record budget: at decode time when it
 * comes off the wire, and by the window's own work budget when a chunk reaches it directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { AppError } from '../../src/core/errors.js';
import type { MediaChunk } from '../../src/core/types.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { Windower } from '../../src/window/windower.js';
import { H, T0, callStart, rawControl, rawText, rawVideo, textChunk, videoChunk, withHeaders } from '../support/chunks.js';

const BUDGET_MS = 50;
const decode = createDecoder({ videoFeatureDim: 24 });

/** Runs one record through decode and the window; returns its rejection code (if any) and the time it took. */
function run(w: Windower, raw: Parameters<typeof decode>[0]): { code: string | null; ms: number } {
  const t0 = performance.now();
  let code: string | null = null;
  try {
    const chunk = decode(raw);
    for (const ev of w.accept(chunk, 0)) if (ev.type === 'rejected' && ev.chunk === chunk) code = ev.error.code;
  } catch (e) {
    code = e instanceof AppError ? e.code : 'THROWN';
  }
  return { code, ms: performance.now() - t0 };
}

test('a text record with a huge x-duration-ms is CHUNK_OUT_OF_BOUNDS at decode, within the budget', () => {
  const w = new Windower();
  run(w, rawControl('call_start'));
  // 100 days of one transcript piece: about 720,000 maxSegmentMs steps for the old window.
  const pill = withHeaders(rawText({ eventTimeMs: T0, seq: 0 }), { [H.durationMs]: String(100 * 86_400_000) });
  const r = run(w, pill);
  assert.ok(r.ms < BUDGET_MS, `took ${r.ms.toFixed(1)} ms`);
  assert.equal(r.code, 'CHUNK_OUT_OF_BOUNDS');
});

test('a video record with a tiny x-fps is CHUNK_OUT_OF_BOUNDS at decode, within the budget', () => {
  const w = new Windower();
  run(w, rawControl('call_start'));
  const pill = withHeaders(rawVideo({ eventTimeMs: T0, seq: 0 }), { [H.fps]: '0.0001' });
  const r = run(w, pill);
  assert.ok(r.ms < BUDGET_MS, `took ${r.ms.toFixed(1)} ms`);
  assert.equal(r.code, 'CHUNK_OUT_OF_BOUNDS');
});

test('the window rejects a chunk over its work budget (WINDOW_WORK_BUDGET) even when no decoder bounded it', () => {
  const w = new Windower();
  w.accept(callStart(), 0);
  const pills: MediaChunk[] = [
    textChunk({ seq: 0, durationMs: 100 * 86_400_000 }),
    videoChunk({ seq: 0, fps: 0.0001, frames: new Float32Array(24 * 4).fill(0.5) }),
  ];
  for (const pill of pills) {
    const t0 = performance.now();
    const ev = w.accept(pill, 0);
    const ms = performance.now() - t0;
    const rejected = ev.find((e) => e.type === 'rejected');
    assert.equal(rejected?.type === 'rejected' && rejected.error.code, 'WINDOW_WORK_BUDGET', `${pill.modality} rejected by the budget`);
    assert.ok(ms < BUDGET_MS, `${pill.modality} took ${ms.toFixed(1)} ms`);
  }
  // The call goes on: a normal transcript piece after the pills is taken.
  const ok = w.accept(textChunk({ seq: 1, eventTimeMs: T0 + 100, durationMs: 900 }), 0);
  assert.equal(ok.filter((e) => e.type === 'rejected').length, 0);
  const end = w.flush(1);
  assert.ok(end.some((e) => e.type === 'segment' && e.segment.text === 'hello there'));
});
