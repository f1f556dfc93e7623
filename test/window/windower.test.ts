import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaChunk, Segment } from '../../src/core/types.js';
import { Windower } from '../../src/window/windower.js';
import { audioChunk, callEnd, callStart, tone } from '../support/chunks.js';
import { T0, audioStream, callsOf, feed, rejectionsOf, releasedOf, segmentsOf, textChunk, videoChunk } from './script.js';

const span = (s: { startMs: number; endMs: number }) => [s.startMs - T0, s.endMs - T0];
/** What a segment carries (the score's flags are derived from this by src/score/features.ts). */
const carries = (s: Segment) => ({ text: s.text !== null, audio: s.audio !== null && s.audio.length > 0, video: s.video !== null && s.videoFrames > 0 });

test('speech-only channel: one segment per speech burst, silence released, text simulated', () => {
  const w = new Windower();
  const audio = audioStream({ pattern: [['silence', 500], ['speech', 1000], ['silence', 1000], ['speech', 800], ['silence', 700]] });
  const ev = feed(w, [callStart(), ...audio, callEnd({ eventTimeMs: T0 + 4000 })]);
  const segs = segmentsOf(ev);
  // Speech 500-1500 and 2500-3300, padded by 100 ms (the trailing pad is clipped by the hangover).
  assert.deepEqual(segs.map(span), [[400, 1600], [2400, 3400]]);
  assert.deepEqual(segs.map((s) => s.index), [0, 1]);
  assert.equal(segs[0].audio?.length, 16000 * 1.2);
  assert.deepEqual(carries(segs[0]), { text: false, audio: true, video: false });
  const calls = callsOf(ev);
  assert.deepEqual(calls.map((c) => c.call.status), ['ACTIVE', 'ENDED']);
  assert.equal(calls[1].call.segmentCount, 2);
  assert.deepEqual(calls[1].call.channels, ['customer']);
  assert.equal(rejectionsOf(ev).length, 0);
});

test('segments are sealed by the watermark before the call ends', () => {
  const w = new Windower({ allowedLatenessMs: 200, transcriptWaitMs: 300 });
  const audio = audioStream({ pattern: [['speech', 1000], ['silence', 3000]] });
  const ev = feed(w, [callStart(), ...audio]);
  const segs = segmentsOf(ev);
  assert.equal(segs.length, 1, 'sealed without call_end');
  // Sealed once watermark (max end - 200) passed the end (1100 + 400 hangover is VAD's delay) + 300.
  assert.deepEqual(span(segs[0]), [-100, 1100]);
});

test('transcripts lead: utterances become segments and carry their text', () => {
  const w = new Windower();
  const audio = audioStream({ pattern: [['speech', 1500], ['silence', 300], ['speech', 1500], ['silence', 3000]] });
  const texts = [
    textChunk({ seq: 0, eventTimeMs: T0 + 50, durationMs: 700, text: 'I have been waiting', final: false }),
    textChunk({ seq: 1, eventTimeMs: T0 + 800, durationMs: 900, text: 'for an hour' }),
    textChunk({ seq: 2, eventTimeMs: T0 + 1850, durationMs: 1400, text: 'thank you so much' }),
  ];
  // Each transcript piece arrives ~300 ms after its audio (ASR lag).
  const chunks: MediaChunk[] = [callStart(), ...audio];
  for (const t of texts) {
    const at = chunks.findIndex((c) => c.modality === 'audio' && c.eventTimeMs >= t.eventTimeMs + t.durationMs + 300);
    chunks.splice(at, 0, t);
  }
  const ev = feed(w, [...chunks, callEnd({ eventTimeMs: T0 + 7000 })]);
  const segs = segmentsOf(ev);
  assert.deepEqual(segs.map((s) => s.text), ['I have been waiting for an hour', 'thank you so much']);
  assert.deepEqual(segs.map(span), [[-100, 1700], [1700, 3250]]);
  assert.ok(segs.every((s) => s.revision === 0));
  assert.equal(carries(segs[0]).text, true);
});

test('late transcript: the sealed segment comes again as revision 1 with the text', () => {
  const w = new Windower({ transcriptWaitMs: 0, allowedLatenessMs: 100 });
  const audio = audioStream({ pattern: [['speech', 1000], ['silence', 1500]] });
  const ev1 = feed(w, [callStart(), ...audio]);
  const [seg] = segmentsOf(ev1);
  assert.equal(seg.text, null);
  const late = textChunk({ seq: 0, eventTimeMs: T0 + 100, durationMs: 800, text: 'this is great' });
  const ev2 = w.accept(late, 100);
  const [rev] = segmentsOf(ev2);
  assert.equal(rev.index, seg.index);
  assert.equal(rev.revision, 1);
  assert.equal(rev.text, 'this is great');
  assert.equal(rev.audio, seg.audio, 'same audio');
  assert.deepEqual(rev.sources, [late.source], 'only the transcript is released with the revision');
  // A transcript after call_end still revises, within the grace period.
  w.accept(callEnd({ eventTimeMs: T0 + 2600 }), 101);
  const ev3 = w.accept(textChunk({ seq: 1, eventTimeMs: T0 + 500, durationMs: 400, text: 'really' }), 102);
  assert.deepEqual(segmentsOf(ev3).map((s) => [s.revision, s.text]), [[2, 'this is great really']]);
  // After the grace period it is too late.
  w.tick(102 + w.options.lateTextGraceMs);
  const ev4 = w.accept(textChunk({ seq: 2, eventTimeMs: T0 + 500, durationMs: 400, text: 'x' }), 200_000);
  assert.equal(rejectionsOf(ev4)[0].error.code, 'CHUNK_UNKNOWN_CALL');
});

test('a transcript over released silence is CHUNK_TOO_LATE', () => {
  const w = new Windower({ transcriptWaitMs: 0, allowedLatenessMs: 100 });
  feed(w, [callStart(), ...audioStream({ pattern: [['silence', 3000]] })]);
  const ev = w.accept(textChunk({ eventTimeMs: T0 + 500, durationMs: 300 }), 50);
  assert.equal(rejectionsOf(ev)[0].error.code, 'CHUNK_TOO_LATE');
});

test('a call that never ends times out: CALL_IDLE_TIMEOUT, TIMED_OUT, everything sealed', () => {
  const w = new Windower({ idleTimeoutMs: 10_000 });
  const audio = audioStream({ pattern: [['speech', 800]] });
  const ev = feed(w, [callStart(), ...audio], 1000);
  assert.equal(segmentsOf(ev).length, 0, 'still open');
  assert.deepEqual(w.tick(1000 + 9_000), []);
  const out = w.tick(1000 + 8 + 10_000);
  const [closed] = callsOf(out);
  assert.equal(closed.call.status, 'TIMED_OUT');
  assert.equal(closed.error?.code, 'CALL_IDLE_TIMEOUT');
  assert.equal(segmentsOf(out).length, 1);
  assert.equal(w.stats().openCalls, 0);
  const after = w.accept(audioChunk({ seq: 99, eventTimeMs: T0 + 900 }), 30_000);
  assert.equal(rejectionsOf(after)[0].error.code, 'CHUNK_UNKNOWN_CALL');
});

test('unknown calls: auto-opened by default, CHUNK_UNKNOWN_CALL when autoOpenCalls is off', () => {
  const auto = new Windower();
  const ev = auto.accept(audioChunk({ callId: 'mid', seq: 500 }), 0);
  assert.deepEqual(callsOf(ev).map((c) => [c.call.callId, c.call.status]), [['mid', 'ACTIVE']]);
  assert.equal(rejectionsOf(auto.accept(audioChunk({ callId: 'mid', seq: 501, eventTimeMs: T0 + 20 }), 1)).length, 0, 'starts at the first seq seen');
  const strict = new Windower({ autoOpenCalls: false });
  assert.equal(rejectionsOf(strict.accept(audioChunk({ callId: 'nope' }), 0))[0].error.code, 'CHUNK_UNKNOWN_CALL');
  assert.equal(rejectionsOf(strict.accept(callEnd({ callId: 'nope' }), 0))[0].error.code, 'CHUNK_UNKNOWN_CALL');
});

test('call_start after auto-open merges meta; duplicate control records are CHUNK_DUPLICATE', () => {
  const w = new Windower();
  w.accept(audioChunk({ seq: 0, eventTimeMs: T0 + 100 }), 0);
  const ev = w.accept(callStart({ meta: { queue: 'billing' } }), 1);
  assert.deepEqual(callsOf(ev)[0].call.meta, { queue: 'billing' });
  assert.equal(callsOf(ev)[0].call.startedAtMs, T0);
  assert.equal(rejectionsOf(w.accept(callStart(), 2))[0].error.code, 'CHUNK_DUPLICATE');
});

test('bad-input suite at the window: duplicate, out of order, too late, wrong rate', () => {
  const w = new Windower({ reorderWindow: 2, allowedLatenessMs: 500 });
  const a = audioStream({ pattern: [['speech', 2000]] });
  w.accept(callStart(), 0);
  w.accept(a[0], 1);
  assert.equal(rejectionsOf(w.accept(a[0], 2))[0].error.code, 'CHUNK_DUPLICATE');
  for (const i of [2, 3, 4]) w.accept(a[i], 3); // seq 1 missing; the window of 2 gives it up
  assert.equal(rejectionsOf(w.accept(a[1], 4))[0].error.code, 'CHUNK_OUT_OF_ORDER');
  for (let i = 5; i < 20; i++) w.accept(a[i], 5);
  // A new stream (video) whose first chunk ends before the watermark (2000 - 500).
  const tooLate = rejectionsOf(w.accept(videoChunk({ seq: 0, eventTimeMs: T0 + 400 }), 6));
  assert.equal(tooLate[0].error.code, 'CHUNK_TOO_LATE');
  assert.equal(tooLate[0].error.details.watermarkMs, T0 + 1500);
  const rate = rejectionsOf(w.accept(audioChunk({ channel: 'agent', sampleRate: 8000, samples: tone(20, 8000) }), 7));
  assert.equal(rate[0].error.code, 'CHUNK_BAD_SAMPLE_RATE');
});

test('a call is (tenant, callId): two tenants sending the same call id get two calls, each cut as if alone', () => {
  const pattern: ['speech' | 'silence', number][] = [['speech', 1000], ['silence', 600], ['speech', 700], ['silence', 500]];
  const streamOf = (tenant: string) => [
    callStart({ tenant }), ...audioStream({ tenant, pattern }), textChunk({ tenant, eventTimeMs: T0 + 100, durationMs: 800, text: `words of ${tenant}` }),
    callEnd({ tenant, eventTimeMs: T0 + 2800 }),
  ];
  const alone = (tenant: string) => segmentsOf(feed(new Windower(), streamOf(tenant)));
  const a = streamOf('acme');
  const b = streamOf('globex');
  const mixed: MediaChunk[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) mixed.push(...(a[i] ? [a[i]] : []), ...(b[i] ? [b[i]] : []));
  const w = new Windower();
  const ev = feed(w, mixed);
  assert.deepEqual(rejectionsOf(ev).map((r) => r.error.code), []);
  const strip = (s: Segment) => ({ ...s, sources: [], sealedAtWallMs: 0 });
  for (const tenant of ['acme', 'globex']) {
    const got = segmentsOf(ev).filter((s) => s.tenant === tenant).map(strip);
    assert.ok(got.length >= 2, `${tenant}: segments`);
    assert.deepEqual(got, alone(tenant).map(strip), `${tenant}: cut as if alone`);
    assert.equal(w.call(tenant, 'call-1')?.status, 'ENDED');
  }
  assert.deepEqual(callsOf(ev).filter((c) => c.call.status === 'ENDED').map((c) => c.call.tenant).sort(), ['acme', 'globex']);
});

test('one bad call does not disturb another call in flight', () => {
  const w = new Windower();
  const good = audioStream({ callId: 'good', pattern: [['speech', 1000], ['silence', 500]] });
  const bad = audioStream({ callId: 'bad', pattern: [['speech', 1000]] });
  const ev: ReturnType<Windower['accept']> = [];
  ev.push(...w.accept(callStart({ callId: 'good' }), 0));
  good.forEach((c, i) => {
    ev.push(...w.accept(c, i));
    ev.push(...w.accept(bad[i % bad.length], i)); // duplicates after the first pass
  });
  ev.push(...w.accept(callEnd({ callId: 'good', eventTimeMs: T0 + 1500 }), 99));
  assert.ok(rejectionsOf(ev).every((r) => r.chunk.callId === 'bad' && r.error.code === 'CHUNK_DUPLICATE'));
  assert.deepEqual(segmentsOf(ev).filter((s) => s.callId === 'good').map(span), [[-100, 1100]]);
});

test('long speech is cut at maxSegmentMs; audio never exceeds the model maximum', () => {
  const w = new Windower();
  const ev = feed(w, [callStart(), ...audioStream({ pattern: [['speech', 30_000]], chunkMs: 200 }), callEnd({ eventTimeMs: T0 + 30_000 })]);
  const segs = segmentsOf(ev);
  assert.ok(segs.length >= 3);
  for (const s of segs) {
    assert.ok(s.endMs - s.startMs <= 12_000);
    assert.ok((s.audio?.length ?? 0) <= 192_000);
  }
  const covered = segs.reduce((n, s) => n + (s.audio?.length ?? 0), 0);
  assert.equal(covered, 30 * 16000, 'every sample in exactly one segment');
});

test('video-only channel: fixed windows, frames by timestamp, subsampled to maxVideoFrames', () => {
  const w = new Windower({ fixedWindowMs: 2000, maxVideoFrames: 15 });
  const chunks = Array.from({ length: 6 }, (_, i) => videoChunk({ channel: 'cam', seq: i, eventTimeMs: T0 + i * 1000, fps: 10 }));
  const ev = feed(w, [callStart(), ...chunks, callEnd({ eventTimeMs: T0 + 6000 })]);
  const segs = segmentsOf(ev);
  assert.deepEqual(segs.map(span), [[0, 2000], [2000, 4000], [4000, 6000]]);
  assert.deepEqual(segs.map((s) => s.videoFrames), [15, 15, 15]);
  assert.equal(segs[0].video?.length, 15 * 24);
  assert.deepEqual(carries(segs[0]), { text: false, audio: false, video: true });
});

test('bounds: open calls evict the idlest; pending transcripts and channels are capped', () => {
  const w = new Windower({ maxOpenCalls: 2, maxPendingText: 2, maxChannelsPerCall: 1 });
  w.accept(callStart({ callId: 'a' }), 0);
  w.accept(callStart({ callId: 'b' }), 1);
  w.accept(audioChunk({ callId: 'a', seq: 0 }), 2); // a is now the most recent
  const ev = w.accept(callStart({ callId: 'c' }), 3);
  const closed = callsOf(ev).find((c) => c.call.status === 'TIMED_OUT');
  assert.equal(closed?.call.callId, 'b');
  assert.equal(closed?.error?.code, 'CALL_IDLE_TIMEOUT');
  for (let i = 0; i < 2; i++) w.accept(textChunk({ callId: 'c', seq: i, eventTimeMs: T0 + 10_000 + i }), 4);
  const full = rejectionsOf(w.accept(textChunk({ callId: 'c', seq: 2, eventTimeMs: T0 + 10_005 }), 5));
  assert.equal(full[0].error.code, 'WINDOW_BUFFER_FULL');
  const ch = rejectionsOf(w.accept(audioChunk({ callId: 'c', channel: 'agent' }), 6));
  assert.equal(ch[0].error.code, 'WINDOW_BUFFER_FULL');
});

test('shutdown flush seals open calls, keeps them ACTIVE and releases everything', () => {
  const w = new Windower();
  const audio = audioStream({ pattern: [['silence', 300], ['speech', 600]] });
  const ev = [...feed(w, [callStart(), ...audio]), ...w.flush(1000)];
  const refs = [...segmentsOf(ev).flatMap((s) => s.sources), ...releasedOf(ev)];
  assert.equal(refs.length, audio.length + 1);
  assert.equal(callsOf(ev).at(-1)?.call.status, 'ACTIVE');
});

test('options are validated at construction', () => {
  assert.throws(() => new Windower({ maxSegmentMs: 0 }), RangeError);
  assert.throws(() => new Windower({ minSegmentMs: 20_000 }), RangeError);
  assert.throws(() => new Windower({ vad: { frameMs: 0.01 } }), RangeError);
});

test('a muted stretch longer than maxGapMs seals what came before; the gap makes no segment', () => {
  const w = new Windower({ maxGapMs: 2000 });
  const first = audioStream({ pattern: [['speech', 1000]] });
  const second = audioStream({ pattern: [['speech', 1000]], t0: T0 + 10_000 }).map((c) => ({ ...c, seq: c.seq + first.length }));
  const ev1 = feed(w, [callStart(), ...first]);
  assert.equal(segmentsOf(ev1).length, 0);
  const ev2 = feed(w, second, 100);
  assert.deepEqual(segmentsOf(ev2).map(span), [[-100, 1000]], 'sealed at the jump, not 9 s of silence later');
  const ev3 = w.accept(callEnd({ eventTimeMs: T0 + 11_000 }), 200);
  assert.deepEqual(segmentsOf(ev3).map(span), [[9900, 11000]]);
});

test('a channel holding more than maxBufferedMs unsealed is force-sealed (watermark held back)', () => {
  const w = new Windower({ maxBufferedMs: 24_000, utteranceTimeoutMs: 1e9 });
  // Transcript pieces that never get a final: the utterance stays open and only the buffer
  // bound seals it.
  const ev = feed(w, [
    callStart(),
    ...Array.from({ length: 30 }, (_, i) => textChunk({ seq: i, eventTimeMs: T0 + i * 1000, durationMs: 900, final: false, text: `w${i}` })),
  ]);
  const segs = segmentsOf(ev);
  assert.ok(segs.length >= 1, 'force-sealed before call end');
  assert.ok(segs.every((s) => s.endMs - s.startMs <= 12_000));
  assert.equal(segs[0].text?.split(' ')[0], 'w0');
});

test('late transcripts for segments dropped from the history are CHUNK_TOO_LATE', () => {
  const w = new Windower({ transcriptWaitMs: 0, allowedLatenessMs: 100, historySize: 1 });
  // Two utterances 1 s apart (longer than the VAD's 800 ms hangover): two segments.
  const audio = audioStream({ pattern: [['speech', 600], ['silence', 1000], ['speech', 600], ['silence', 1000]] });
  const segs = segmentsOf(feed(w, [callStart(), ...audio]));
  assert.equal(segs.length, 2);
  const old = w.accept(textChunk({ seq: 0, eventTimeMs: T0 + 100, durationMs: 300 }), 50);
  assert.equal(rejectionsOf(old)[0].error.code, 'CHUNK_TOO_LATE');
  const kept = w.accept(textChunk({ seq: 1, eventTimeMs: T0 + 1700, durationMs: 300 }), 51);
  assert.deepEqual(segmentsOf(kept).map((s) => [s.index, s.revision]), [[1, 1]]);
});

test('a transcript-only call is segmented by utterances as its transcripts advance', () => {
  const w = new Windower({ allowedLatenessMs: 0, transcriptWaitMs: 500 });
  const ev = feed(w, [
    callStart(),
    textChunk({ seq: 0, eventTimeMs: T0, durationMs: 1000, text: 'hello' }),
    textChunk({ seq: 1, eventTimeMs: T0 + 1500, durationMs: 1000, text: 'how are you' }),
  ]);
  const segs = segmentsOf(ev);
  assert.deepEqual(segs.map((s) => [s.text, s.audio, ...span(s)]), [['hello', null, 0, 1000]]);
  assert.deepEqual(carries(segs[0]), { text: true, audio: false, video: false });
});

test('lateness is per channel: an agent leg arriving 1.5 s behind the customer leg keeps all its audio; a leg beyond the skew is too late', () => {
  const pattern: ['speech' | 'silence', number][] = [['speech', 1200], ['silence', 800], ['speech', 1000], ['silence', 1000]];
  const customer = audioStream({ channel: 'customer', pattern });
  const agent = audioStream({ channel: 'agent', pattern });
  const lagChunks = 15; // 15 x 100 ms = 1.5 s behind
  const mixed: MediaChunk[] = [callStart()];
  for (let i = 0; i < customer.length + lagChunks; i++) {
    if (customer[i]) mixed.push(customer[i]);
    if (i >= lagChunks && agent[i - lagChunks]) mixed.push(agent[i - lagChunks]);
  }
  mixed.push(callEnd({ eventTimeMs: T0 + 4000 }));
  const ev = feed(new Windower(), mixed);
  assert.deepEqual(rejectionsOf(ev).map((r) => r.error.code), [], 'no agent audio lost');
  const strip = (s: Segment) => ({ ...s, sources: [], sealedAtWallMs: 0 });
  const alone = segmentsOf(feed(new Windower(), [callStart(), ...agent, callEnd({ eventTimeMs: T0 + 4000 })])).map(strip);
  assert.deepEqual(segmentsOf(ev).filter((s) => s.channel === 'agent').map(strip), alone, 'the agent leg is cut as if alone');

  // A leg more than maxChannelSkewMs (5 s) + allowedLatenessMs behind follows the call's watermark.
  const w = new Windower();
  feed(w, [callStart(), ...audioStream({ channel: 'customer', pattern: [['speech', 7000]] })]);
  const late = rejectionsOf(w.accept(audioChunk({ channel: 'agent', seq: 0, eventTimeMs: T0 }), 1));
  assert.equal(late[0]?.error.code, 'CHUNK_TOO_LATE');
});
