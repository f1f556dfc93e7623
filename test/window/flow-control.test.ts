/**
 * The window's part in flow control (issue #13, docs/lifecycle.md):
 * - the open budget (maxOpenSamples, maxOpenChunks; policy seal-largest): what open calls hold
 *   unsealed stays within the bound however many calls run at once, by sealing the largest call
 *   up to its watermark; every chunk still ends in exactly one segment or release, segments stay
 *   in order without overlap, and nothing is rejected;
 * - idle timeouts wait while the source reads a backlog (tick's holdIdle).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChunkSourceRef, Segment } from '../../src/core/types.js';
import { Windower, type WindowOptionsInput } from '../../src/window/index.js';
import { audioChunk, callEnd, callStart, ref, T0, tone } from '../support/chunks.js';

const CHUNK_MS = 100;
const RATE = 16000;

/** `calls` calls talking at once without pause for `seconds`, interleaved chunk by chunk. */
function run(calls: number, seconds: number, options: WindowOptionsInput) {
  const w = new Windower(options);
  const segments: Segment[] = [];
  const done: ChunkSourceRef[] = [];
  const sent: ChunkSourceRef[] = [];
  let maxSamples = 0;
  let maxChunks = 0;
  let offset = 0;
  const take = (events: ReturnType<Windower['accept']>) => {
    for (const ev of events) {
      if (ev.type === 'segment') {
        segments.push(ev.segment);
        done.push(...ev.segment.sources);
      } else if (ev.type === 'release') done.push(...ev.refs);
      else if (ev.type === 'rejected') assert.fail(`rejected ${ev.chunk.callId} seq ${ev.chunk.seq}: ${ev.error.code}`);
    }
    maxSamples = Math.max(maxSamples, w.stats().openSamples);
    maxChunks = Math.max(maxChunks, w.stats().openChunks);
  };
  const id = (c: number) => `call-${c}`;
  for (let c = 0; c < calls; c++) {
    const source = ref(offset++);
    sent.push(source);
    take(w.accept(callStart({ callId: id(c), source }), 0));
  }
  for (let k = 0; k < (seconds * 1000) / CHUNK_MS; k++) {
    for (let c = 0; c < calls; c++) {
      const source = ref(offset++);
      sent.push(source);
      take(w.accept(audioChunk({ callId: id(c), seq: k, eventTimeMs: T0 + k * CHUNK_MS, samples: tone(CHUNK_MS), source }), 0));
    }
  }
  for (let c = 0; c < calls; c++) {
    const source = ref(offset++);
    sent.push(source);
    take(w.accept(callEnd({ callId: id(c), seq: 1, eventTimeMs: T0 + seconds * 1000, source }), 0));
  }
  return { segments, done, sent, maxSamples, maxChunks };
}

function checkSegments(segments: Segment[]): void {
  const by = new Map<string, Segment[]>();
  for (const s of segments) by.set(s.callId, [...(by.get(s.callId) ?? []), s]);
  for (const [callId, list] of by) {
    list.forEach((s, i) => {
      assert.equal(s.index, i, `${callId}: indices in order`);
      if (i > 0) assert.ok(s.startMs >= list[i - 1].endMs - 0.5, `${callId}: segment ${i} does not overlap`);
    });
  }
}

const keys = (refs: ChunkSourceRef[]) => refs.map((r) => `${r.partition}/${r.offset}`).sort();

test('unbounded, 20 calls talking for 20 s hold most of their audio open at once', () => {
  const r = run(20, 20, {});
  assert.ok(r.maxSamples > 20 * 10 * RATE, `held ${r.maxSamples} samples`);
});

test('maxOpenSamples: the largest call is sealed early; the bound holds and every chunk is accounted once', () => {
  const budget = 40 * RATE; // 40 s of audio for 20 calls: ~2 s each
  const r = run(20, 20, { maxOpenSamples: budget });
  assert.ok(r.maxSamples <= budget, `held ${r.maxSamples} samples, bound ${budget}`);
  assert.deepEqual(keys(r.done), keys(r.sent), 'every chunk in exactly one segment or release');
  checkSegments(r.segments);
  const unbounded = run(20, 20, {});
  assert.ok(r.segments.length > unbounded.segments.length, 'shorter segments than without the bound');
  const audio = (segs: Segment[]) => segs.reduce((s, x) => s + (x.audio?.length ?? 0), 0);
  assert.equal(audio(r.segments), audio(unbounded.segments), 'the same audio, only cut differently');
});

test('a budget below what calls must keep: each holds only its lateness (what no seal may take)', () => {
  const r = run(20, 20, { maxOpenSamples: 1 });
  // Per channel: allowed lateness (1 s), plus less than minSegmentMs (300) not cut off alone,
  // plus the chunk that moved the watermark.
  const residue = ((1000 + 300 + CHUNK_MS) * RATE) / 1000;
  assert.ok(r.maxSamples <= 20 * residue, `held ${r.maxSamples} samples, 20 calls x ${residue}`);
  assert.deepEqual(keys(r.done), keys(r.sent));
  checkSegments(r.segments);
});

test('maxOpenChunks bounds the records held the same way', () => {
  const r = run(10, 10, { maxOpenChunks: 200 });
  assert.ok(r.maxChunks <= 200, `held ${r.maxChunks} chunks`);
  assert.deepEqual(keys(r.done), keys(r.sent));
  checkSegments(r.segments);
});

test('open budget options are validated', () => {
  assert.throws(() => new Windower({ maxOpenSamples: 0 }), /maxOpenSamples/);
  assert.throws(() => new Windower({ maxOpenChunks: -1 }), /maxOpenChunks/);
});

test('idle timeouts wait while the source reads a backlog, and apply once it is caught up', () => {
  const w = new Windower({ idleTimeoutMs: 30_000 });
  w.accept(callStart({ callId: 'slow', source: ref() }), 0);
  w.accept(audioChunk({ callId: 'slow', seq: 0, source: ref() }), 0);
  assert.deepEqual(w.tick(120_000, true), [], 'behind: no call times out, however long ago its last chunk was read');
  assert.equal(w.call('default', 'slow')?.status, 'ACTIVE');
  const out = w.tick(120_000, false);
  assert.equal(out.find((e) => e.type === 'call')?.type, 'call');
  assert.equal(w.call('default', 'slow')?.status, 'TIMED_OUT', 'caught up: a call that sent nothing for the timeout is closed');
});
