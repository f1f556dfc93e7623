/**
 * Transcript pieces with the producer's utterance ids (x-utterance-id): an ASR's cumulative
 * interim results replace each other instead of piling up words, segments name the utterances
 * they hold, and a piece of an utterance already scored revises that segment's text in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChunkSourceRef, MediaChunk } from '../../src/core/types.js';
import { Windower } from '../../src/window/windower.js';
import { callEnd, callStart } from '../support/chunks.js';
import { T0, audioStream, feed, rejectionsOf, releasedOf, segmentsOf, textChunk } from './script.js';

/** What a streaming ASR (Google STT, AWS Transcribe, Deepgram) sends for two utterances: each
 *  result repeats the words so far, with a growing end time, until the final one. */
const asrResults = [
  { id: 'u1', at: 100, ms: 300, text: 'I', final: false },
  { id: 'u1', at: 100, ms: 700, text: 'I want', final: false },
  { id: 'u1', at: 100, ms: 1100, text: 'I want to cancel', final: false },
  { id: 'u1', at: 100, ms: 1400, text: 'I want to cancel my order', final: true },
  { id: 'u2', at: 2100, ms: 400, text: 'it never', final: false },
  { id: 'u2', at: 2100, ms: 900, text: 'it never arrived', final: false },
  { id: 'u2', at: 2100, ms: 1200, text: 'it never arrived at all', final: true },
];

/** The call's audio with each ASR result spliced in 300 ms after the audio it covers. */
function callWithResults(): MediaChunk[] {
  const audio = audioStream({ pattern: [['silence', 100], ['speech', 1400], ['silence', 600], ['speech', 1200], ['silence', 3000]] });
  const chunks: MediaChunk[] = [callStart(), ...audio];
  asrResults.forEach((r, seq) => {
    const t = textChunk({ seq, eventTimeMs: T0 + r.at, durationMs: r.ms, text: r.text, final: r.final, utteranceId: r.id });
    const at = chunks.findIndex((c) => c.modality === 'audio' && c.eventTimeMs >= t.eventTimeMs + t.durationMs + 300);
    chunks.splice(at, 0, t);
  });
  return chunks;
}

const refsOf = (chunks: MediaChunk[]): ChunkSourceRef[] => chunks.flatMap((c) => (c.source ? [c.source] : []));

test('cumulative interim results: each utterance\'s words once, from its latest piece', () => {
  const chunks = [...callWithResults(), callEnd({ eventTimeMs: T0 + 7000 })];
  const ev = feed(new Windower(), chunks);
  const segs = segmentsOf(ev);
  assert.deepEqual(segs.map((s) => s.text), ['I want to cancel my order', 'it never arrived at all']);
  assert.deepEqual(segs.map((s) => s.utteranceIds), [['u1'], ['u2']]);
  assert.equal(rejectionsOf(ev).length, 0);
  // Every record, the replaced interim ones included, comes out exactly once.
  const out = [...segs.flatMap((s) => s.sources), ...releasedOf(ev)].map((r) => r.offset).sort();
  assert.deepEqual(out, refsOf(chunks).map((r) => r.offset).sort());
});

test('pieces without an id still add up (fragments, not cumulative results)', () => {
  const audio = audioStream({ pattern: [['speech', 1500], ['silence', 3000]] });
  const ev = feed(new Windower(), [
    callStart(), ...audio.slice(0, 5),
    textChunk({ seq: 0, eventTimeMs: T0 + 50, durationMs: 500, text: 'I have been', final: false }),
    textChunk({ seq: 1, eventTimeMs: T0 + 600, durationMs: 800, text: 'waiting an hour' }),
    ...audio.slice(5), callEnd({ eventTimeMs: T0 + 5000 }),
  ]);
  const [seg] = segmentsOf(ev);
  assert.equal(seg.text, 'I have been waiting an hour');
  assert.deepEqual(seg.utteranceIds, []);
});

test('an interim piece scored before its final: the final revises that segment, replacing the words', () => {
  const w = new Windower({ transcriptWaitMs: 0, allowedLatenessMs: 100, utteranceTimeoutMs: 500 });
  const audio = audioStream({ pattern: [['speech', 1000], ['silence', 2500]] });
  const interim = textChunk({ seq: 0, eventTimeMs: T0 + 100, durationMs: 500, text: 'this is', final: false, utteranceId: 'a-7' });
  const ev1 = feed(w, [callStart(), interim, ...audio]);
  const [seg] = segmentsOf(ev1);
  assert.equal(seg.text, 'this is', 'the utterance timed out and was scored with its interim text');
  assert.deepEqual(seg.utteranceIds, ['a-7']);

  // The final lands after the segment was sealed, its middle in unsealed time: still the same utterance.
  const final = textChunk({ seq: 1, eventTimeMs: T0 + 100, durationMs: 3300, text: 'this is not what I ordered', utteranceId: 'a-7' });
  const [rev] = segmentsOf(w.accept(final, 1000));
  assert.deepEqual([rev.index, rev.revision, rev.text, rev.utteranceIds], [seg.index, 1, 'this is not what I ordered', ['a-7']]);
  assert.deepEqual(rev.sources, [final.source]);

  // Another utterance's late piece on the same segment is added next to it; a repeat of a-7 replaces only a-7.
  w.accept(callEnd({ eventTimeMs: T0 + 3500 }), 1001);
  const other = textChunk({ seq: 2, eventTimeMs: T0 + 300, durationMs: 200, text: 'honestly', utteranceId: 'b-1' });
  assert.deepEqual(segmentsOf(w.accept(other, 1002)).map((s) => [s.revision, s.text, s.utteranceIds]), [[2, 'this is not what I ordered honestly', ['a-7', 'b-1']]]);
  const again = textChunk({ seq: 3, eventTimeMs: T0 + 100, durationMs: 600, text: 'this is not what I wanted', utteranceId: 'a-7' });
  assert.deepEqual(segmentsOf(w.accept(again, 1003)).map((s) => [s.revision, s.text]), [[3, 'this is not what I wanted honestly']]);
});

test('the records of replaced interim pieces count against maxOpenChunks until released', () => {
  const w = new Windower();
  const audio = audioStream({ pattern: [['speech', 1000]] });
  const ev = feed(w, [callStart(), ...audio]);
  const before = w.stats().openChunks;
  // 30 interim results of one utterance: one pending piece, but 30 records held.
  for (let k = 0; k < 30; k++) {
    ev.push(...w.accept(textChunk({ seq: k, eventTimeMs: T0 + 100, durationMs: 100 + 20 * k, text: `w${k}`, final: false, utteranceId: 'long' }), 100 + k));
  }
  assert.equal(w.stats().openChunks, before + 30);
  ev.push(...w.accept(callEnd({ eventTimeMs: T0 + 1000 }), 200));
  assert.equal(w.stats().openChunks, 0);
  assert.deepEqual(segmentsOf(ev).map((s) => s.text), ['w29']);
  assert.equal(segmentsOf(ev)[0].sources.filter((r) => r.topic === 'test').length + releasedOf(ev).length, audio.length + 30 + 2);
});
