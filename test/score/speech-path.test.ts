/**
 * The speech path in the scorer (onnx-scorer.ts admission, speech-route.ts in the worker) on the
 * real sessions: a text-missing segment with audio is scored on recognised words; a full queue,
 * a deadline that cannot be met, or the path switched off degrade to the simulated text and say
 * why; platform text is never replaced. Segment audio: the second sentence of the held-out-voice
 * fixture (Flite, 8 kHz telephone), resampled to the model's 16 kHz by ingest's resampler.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ConfigError, loadConfig } from '../../src/app/config.js';
import { resample } from '../../src/ingest/resample.js';
import { loadManifest } from '../../src/score/manifest.js';
import { createOnnxScorer, type SpeechPathOptions } from '../../src/score/onnx-scorer.js';
import { SpeechRoute } from '../../src/score/speech-route.js';
import { SpeechRecogniser } from '../../src/score/speech/recogniser.js';
import { REPO, requireModel, segment } from './fixtures.js';

const SPEECH_DIR = join(REPO, 'models', 'speech-whisper-tiny-en');
const FIXTURE = join(REPO, 'fixtures', 'heldout-voice', 'heldout-1');

/** The second sentence of the fixture call at 8 kHz, and its text. */
function sentence8k(): { audio: Float32Array; text: string } {
  const meta = JSON.parse(readFileSync(join(FIXTURE, 'call.json'), 'utf8')) as { utterances: { startMs: number; endMs: number; text: string }[] };
  const u = meta.utterances[1]; // recognised nearly word for word (the first one is not)
  const b = readFileSync(join(FIXTURE, 'customer.pcm'));
  const s16 = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const from = Math.max(0, (u.startMs - 100) * 8);
  const to = Math.min(s16.length, (u.endMs + 100) * 8);
  return { audio: Float32Array.from(s16.subarray(from, to), (x) => x / 32768), text: u.text };
}

const words = (s: string): string[] => s.toLowerCase().replace(/[^a-z' ]+/g, ' ').split(/\s+/).filter(Boolean);

async function scorerWith(t: TestContext, speech: SpeechPathOptions | null) {
  const dir = await requireModel(t);
  if (!dir) return null;
  const scorer = createOnnxScorer({ modelDir: dir, providers: ['cpu'], speech, maxWaitMs: 20 });
  t.after(() => scorer.stop());
  await scorer.start();
  const { audio, text } = sentence8k();
  const seg = (o: Parameters<typeof segment>[0] = {}) => segment({ featureDim: scorer.manifest().video.featureDim, audio: resample(audio, 8000, 16000), video: null, text: null, ...o });
  return { scorer, seg, text };
}

test('speech path on: a text-missing segment is scored on recognised words; platform text is kept', async (t) => {
  const ctx = await scorerWith(t, { modelDir: SPEECH_DIR, maxQueue: 4, deadlineMs: 60_000 });
  if (!ctx) return;
  const out = await ctx.scorer.score(ctx.seg());
  assert.equal(out.textSource, 'RECOGNISED');
  assert.equal(out.speechFallback, null);
  const heard = words(out.recognisedText ?? '');
  const said = words(ctx.text);
  const hits = said.filter((w) => heard.includes(w)).length;
  assert.ok(hits >= said.length / 2, `recognised "${out.recognisedText}" shares at least half the words of "${ctx.text}"`);
  // The recognised words enter the text encoder as the transcript would: same score as sending them.
  const asText = await ctx.scorer.score(ctx.seg({ text: out.recognisedText }));
  assert.equal(asText.textSource, 'PLATFORM');
  assert.equal(asText.recognisedText, null);
  assert.ok(Math.abs(asText.valence - out.valence) < 1e-5, `valence ${out.valence} = ${asText.valence} with the same words as transcript`);
  assert.equal(ctx.scorer.speechDepth(), 0, 'tickets are returned');
});

test('queue bound: with maxQueue 1, segments arriving while one holds the ticket are simulated (queue_full)', async (t) => {
  const ctx = await scorerWith(t, { modelDir: SPEECH_DIR, maxQueue: 1, deadlineMs: 60_000 });
  if (!ctx) return;
  const outs = await Promise.all([ctx.scorer.score(ctx.seg()), ctx.scorer.score(ctx.seg({ index: 1 })), ctx.scorer.score(ctx.seg({ index: 2 }))]);
  assert.deepEqual(outs.map((o) => [o.textSource, o.speechFallback]), [['RECOGNISED', null], ['SIMULATED', 'queue_full'], ['SIMULATED', 'queue_full']]);
  assert.equal(outs[1].recognisedText, null);
  // Once the ticket is back, the next segment is recognised again.
  assert.equal((await ctx.scorer.score(ctx.seg({ index: 3 }))).textSource, 'RECOGNISED');
});

test('a segment with its transcript does not wait behind queued recognitions', async (t) => {
  const ctx = await scorerWith(t, { modelDir: SPEECH_DIR, maxQueue: 8, deadlineMs: 60_000 });
  if (!ctx) return;
  const order: string[] = [];
  const track = (name: string, p: Promise<unknown>) => p.then(() => order.push(name));
  // One worker: the first recognition starts at once; the other two and the transcript segment wait.
  await Promise.all([
    track('speech-1', ctx.scorer.score(ctx.seg({ index: 1 }))),
    track('speech-2', ctx.scorer.score(ctx.seg({ index: 2 }))),
    track('speech-3', ctx.scorer.score(ctx.seg({ index: 3 }))),
    track('transcript', ctx.scorer.score(ctx.seg({ index: 4, text: 'thank you, that solved it' }))),
  ]);
  assert.deepEqual(order, ['speech-1', 'transcript', 'speech-2', 'speech-3']);
});

test('deadline: a segment whose words cannot be ready in time is simulated (deadline)', async (t) => {
  // 1 ms: the worker's cost estimate (>= 2 s of audio at ~110 ms per audio-second) always exceeds it.
  const ctx = await scorerWith(t, { modelDir: SPEECH_DIR, maxQueue: 4, deadlineMs: 1 });
  if (!ctx) return;
  const out = await ctx.scorer.score(ctx.seg());
  assert.deepEqual([out.textSource, out.speechFallback, out.recognisedText], ['SIMULATED', 'deadline', null]);
});

test('speech path off: text-missing segments are simulated (disabled), as before', async (t) => {
  const ctx = await scorerWith(t, null);
  if (!ctx) return;
  const out = await ctx.scorer.score(ctx.seg());
  assert.deepEqual([out.textSource, out.speechFallback], ['SIMULATED', 'disabled']);
  assert.equal((await ctx.scorer.score(ctx.seg({ text: 'this is great' }))).textSource, 'PLATFORM');
});

test('the route resamples a window at another rate to the recogniser 16 kHz', async (t) => {
  const dir = await requireModel(t);
  if (!dir) return;
  const m = await loadManifest(dir, { verifyHashes: false });
  const recogniser = await SpeechRecogniser.open(SPEECH_DIR);
  t.after(() => recogniser.release());
  const { audio, text } = sentence8k();
  const at8k = { ...m, audio: { ...m.audio, sampleRate: 8000 } };
  const { inputs, routes } = await new SpeechRoute(recogniser, at8k).route([{ audio, text: null, video: null, videoFrames: 0, speech: { ticket: { deadlineWallMs: Date.now() + 60_000 } } }]);
  assert.equal(routes[0].source, 'RECOGNISED');
  assert.equal(inputs[0].text, routes[0].recognisedText);
  assert.equal(inputs[0].audio, audio, 'the model still reads the window audio as it came');
  const said = words(text);
  assert.ok(said.filter((w) => words(routes[0].recognisedText!).includes(w)).length >= said.length / 2, `"${routes[0].recognisedText}" vs "${text}"`);
});

test('config: SCORER_SPEECH defaults on, can be turned off, and its bounds are validated', () => {
  const on = loadConfig({});
  assert.ok(on.speech);
  assert.deepEqual([on.speech.maxQueue, on.speech.deadlineMs], [8, 2000]);
  assert.match(on.speech.modelDir, /models\/speech-whisper-tiny-en$/);
  assert.equal(loadConfig({ SCORER_SPEECH: 'off' }).speech, null);
  assert.equal(loadConfig({ SCORER_SPEECH_QUEUE: '3', SCORER_SPEECH_DEADLINE_MS: '500' }).speech?.maxQueue, 3);
  assert.throws(() => loadConfig({ SCORER_SPEECH: 'sometimes' }), ConfigError);
  assert.throws(() => loadConfig({ SCORER_SPEECH_QUEUE: '0' }), ConfigError);
  assert.throws(() => loadConfig({ SCORER_SPEECH_DEADLINE_MS: '1.5' }), ConfigError);
  assert.equal(on.speech.minContextMs, null, "the speech model's own (10 s)");
  assert.equal(loadConfig({ SPEECH_MIN_CONTEXT_MS: '8000' }).speech?.minContextMs, 8000);
});

test('the shortest encoder context reaches the recogniser in each worker: one it refuses (> 30 s) fails the start', async (t) => {
  const dir = await requireModel(t);
  if (!dir) return;
  const bad = createOnnxScorer({ modelDir: dir, providers: ['cpu'], speech: { modelDir: SPEECH_DIR, maxQueue: 8, deadlineMs: 2000, minContextMs: 31_000 } });
  t.after(() => bad.stop());
  await assert.rejects(bad.start(), /minContextSeconds 31 must be in 0\.\.30/);
  const ok = await scorerWith(t, { modelDir: SPEECH_DIR, maxQueue: 8, deadlineMs: 2000, minContextMs: 8000 });
  if (!ok) return;
  const out = await ok.scorer.score(ok.seg());
  assert.deepEqual([out.textSource, out.speechFallback], ['RECOGNISED', null]);
});
