/**
 * Property tests of the window stage: random calls (two channels, speech/silence patterns, some
 * transcripts, some video), fed in order and shuffled within the reorder window and lateness.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ChunkSourceRef, MediaChunk, Segment, TextChunk } from '../../src/core/types.js';
import { Windower, type WindowEvent } from '../../src/window/windower.js';
import { callEnd, callStart } from '../support/chunks.js';
import { T0, audioStream, callsOf, segmentsOf, textChunk, videoChunk, type Part } from './script.js';

const CHUNK_MS = 100;
const TEXT_LAG_MS = 300;

const partArb = fc.tuple(fc.constantFrom<'speech' | 'silence'>('speech', 'silence'), fc.integer({ min: 2, max: 20 }).map((n) => n * 100));
const channelArb = fc.record({
  pattern: fc.array(partArb, { minLength: 1, maxLength: 8 }),
  transcribe: fc.boolean(),
  video: fc.boolean(),
});
const callArb = fc.record({ customer: channelArb, agent: channelArb });

type Timed = { chunk: MediaChunk; at: number };

/** The chunks of a random call, in arrival order (transcripts arrive TEXT_LAG_MS after their speech). */
type ChannelSpec = { pattern: [string, number][]; transcribe: boolean; video: boolean };

function buildCall(spec: { customer: ChannelSpec; agent: ChannelSpec }): MediaChunk[] {
  const timed: Timed[] = [];
  let endMs = 0;
  for (const channel of ['customer', 'agent'] as const) {
    const ch = spec[channel];
    for (const c of audioStream({ channel, pattern: ch.pattern as Part[], chunkMs: CHUNK_MS })) timed.push({ chunk: c, at: c.eventTimeMs + c.durationMs });
    let t = 0;
    let seq = 0;
    let vseq = 0;
    for (const [kind, ms] of ch.pattern) {
      if (kind === 'speech' && ch.transcribe && ms >= 400) {
        const tc = textChunk({ channel, seq: seq++, eventTimeMs: T0 + t + 50, durationMs: ms - 100, text: `${channel} said ${t}` });
        timed.push({ chunk: tc, at: tc.eventTimeMs + tc.durationMs + TEXT_LAG_MS });
      }
      t += ms;
    }
    if (ch.video) {
      for (let v = 0; v + 1000 <= t; v += 1000) {
        const vc = videoChunk({ channel, seq: vseq++, eventTimeMs: T0 + v, fps: 10, featureDim: 4, frames: new Float32Array(40).fill(v / 1000) });
        timed.push({ chunk: vc, at: vc.eventTimeMs + vc.durationMs });
      }
    }
    endMs = Math.max(endMs, t);
  }
  timed.sort((a, b) => a.at - b.at);
  return [callStart(), ...timed.map((x) => x.chunk), callEnd({ eventTimeMs: T0 + endMs + 1 })];
}

/** Moves each chunk back by up to `k` places; the first and last (call_start, call_end) stay put. */
function shuffleLocally(chunks: MediaChunk[], noise: number[], k: number): MediaChunk[] {
  const last = chunks.length - 1;
  const keyed = chunks.map((c, i) => ({ c, key: i === 0 ? -Infinity : i === last ? Infinity : i + (noise[i % noise.length] % (k + 1)) }));
  return keyed.sort((a, b) => a.key - b.key).map((x) => x.c);
}

function run(w: Windower, chunks: MediaChunk[]): WindowEvent[] {
  return chunks.flatMap((c, i) => w.accept(c, i));
}

function digest(s: Segment) {
  let h = 0;
  for (let i = 0; i < (s.audio?.length ?? 0); i += 97) h = (h * 31 + Math.round(s.audio![i] * 1e4)) | 0;
  return [s.channel, s.index, s.revision, s.startMs - T0, s.endMs - T0, s.text, s.audio?.length ?? 0, h, s.videoFrames].join('|');
}

const refKey = (r: ChunkSourceRef) => `${r.topic}/${r.partition}/${r.offset}`;

/** Every ref that came out, with how often. */
function refCounts(ev: WindowEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  const add = (r: ChunkSourceRef | undefined) => { if (r) m.set(refKey(r), (m.get(refKey(r)) ?? 0) + 1); };
  for (const e of ev) {
    if (e.type === 'segment') e.segment.sources.forEach(add);
    else if (e.type === 'release') e.refs.forEach(add);
    else if (e.type === 'rejected') add(e.chunk.source);
  }
  return m;
}

test('property: a shuffle within the reorder window and lateness yields the same segments', () => {
  fc.assert(
    fc.property(callArb, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (spec, noise) => {
      const chunks = buildCall(spec);
      const inOrder = run(new Windower(), chunks);
      const shuffled = run(new Windower(), shuffleLocally(chunks, noise, 4));
      assert.deepEqual(shuffled.filter((e) => e.type === 'rejected'), []);
      assert.deepEqual(segmentsOf(shuffled).map(digest).sort(), segmentsOf(inOrder).map(digest).sort());
    }),
    { numRuns: 40 },
  );
});

test('property: every accepted chunk ref comes out exactly once (segment, release or rejection)', () => {
  fc.assert(
    fc.property(
      callArb,
      fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.boolean(),
      (spec, noise, dupes, endByTimeout) => {
        let chunks = shuffleLocally(buildCall(spec), noise, 30); // beyond the window: some are late
        if (endByTimeout) chunks = chunks.slice(0, -1); // no call_end: the idle timeout closes it
        // Redeliveries: copies of random chunks with new refs, at random places.
        for (const d of dupes) {
          const orig = chunks[d % chunks.length];
          chunks.splice((d * 7) % chunks.length, 0, { ...orig, source: { topic: 'test', partition: 0, offset: `dup-${d}-${chunks.length}` } });
        }
        const w = new Windower({ idleTimeoutMs: 1000 });
        const ev = run(w, chunks);
        ev.push(...w.tick(chunks.length + 1000));
        assert.equal(w.stats().openCalls, 0);
        const counts = refCounts(ev);
        for (const c of chunks) assert.equal(counts.get(refKey(c.source!)), 1, `${c.modality} seq ${c.seq} (${refKey(c.source!)})`);
        assert.equal(counts.size, chunks.length, 'no ref out of nowhere');
        const last = callsOf(ev).at(-1)!;
        assert.equal(last.call.status, endByTimeout ? 'TIMED_OUT' : 'ENDED');
      },
    ),
    { numRuns: 40 },
  );
});

test('property: a transcript landing on a segment sealed without text makes revision + 1 with that text', () => {
  fc.assert(
    fc.property(fc.array(partArb, { minLength: 1, maxLength: 8 }), fc.nat(), fc.boolean(), (pattern, pick, afterEnd) => {
      fc.pre(pattern.some(([k]) => k === 'speech'));
      const w = new Windower({ transcriptWaitMs: 0, allowedLatenessMs: 100 });
      const audio = audioStream({ pattern: pattern as Part[], chunkMs: CHUNK_MS });
      const endMs = audio.at(-1)!.eventTimeMs + audio.at(-1)!.durationMs;
      const ev = run(w, afterEnd ? [callStart(), ...audio, callEnd({ eventTimeMs: endMs })] : [callStart(), ...audio]);
      const sealed = segmentsOf(ev);
      fc.pre(sealed.length > 0);
      const target = sealed[pick % sealed.length];
      const late: TextChunk = textChunk({ seq: 0, eventTimeMs: target.startMs + 10, durationMs: Math.max(0, target.endMs - target.startMs - 20), text: 'late words' });
      const out = w.accept(late, 10_000);
      const revs = segmentsOf(out);
      assert.equal(revs.length, 1);
      assert.equal(revs[0].index, target.index);
      assert.equal(revs[0].revision, target.revision + 1);
      assert.equal(revs[0].text, 'late words');
      assert.equal(revs[0].startMs, target.startMs);
      assert.equal(revs[0].audio, target.audio);
    }),
    { numRuns: 60 },
  );
});

test('property: a call that never ends is closed by the idle timeout with nothing left open', () => {
  fc.assert(
    fc.property(fc.array(partArb, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1000, max: 60_000 }), (pattern, idleMs) => {
      const w = new Windower({ idleTimeoutMs: idleMs });
      const audio = audioStream({ pattern: pattern as Part[], chunkMs: CHUNK_MS });
      const ev = run(w, [callStart(), ...audio]);
      const lastWall = audio.length;
      assert.deepEqual(w.tick(lastWall + idleMs - 1).filter((e) => e.type === 'call'), [], 'not before the timeout');
      ev.push(...w.tick(lastWall + idleMs));
      const closed = callsOf(ev).at(-1)!;
      assert.equal(closed.call.status, 'TIMED_OUT');
      assert.equal(closed.error?.code, 'CALL_IDLE_TIMEOUT');
      assert.equal(w.stats().openCalls, 0);
      const counts = refCounts(ev);
      for (const c of audio) assert.equal(counts.get(refKey(c.source!)), 1);
    }),
    { numRuns: 40 },
  );
});
