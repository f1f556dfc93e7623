/**
 * The served speech path's cost (issue 12): core-ms per audio-second of scoring a text-missing
 * segment end to end in a scoring worker (resampled 8 kHz telephone audio in, recogniser, text
 * encoder on the words, fusion) against today's route (simulated text, speech path off) and a
 * segment with its transcript, on one worker with one intra-op thread, so core-ms per audio-s is
 * also "per core". Channels one core sustains = 1000 / core-ms per audio-s (a channel that talks
 * all the time with no transcript); the speech path's own share is the difference to "off".
 *
 * Segments: the held-out-voice fixture's sentences (fixtures/heldout-voice, Flite, 8 kHz
 * telephone), each cut with 300 ms around it as the window's VAD would, resampled to 16 kHz by
 * ingest's resampler; scored one at a time, so the main thread idles and the process CPU time
 * (user + system, all threads) is the worker's.
 *
 * Then --sustain: N text-missing channels talking all the time in real time (each sends its
 * next sentence when the previous one's audio has played out; starts staggered), for
 * --seconds, through the served defaults (queue 8, deadline 2000 ms): how many segments were
 * recognised and how many shed to the simulated route, and the score latency; beside them 4
 * channels whose segments carry their transcript, and their latency. A core sustains N when
 * nothing is shed.
 *
 *   node --import tsx bench/speech-serve.ts [--reps 2] [--sustain 8,12,16,20] [--seconds 40]
 * (--reps 0: the sustain runs only)
 *
 * Speech models side by side: `--speech NAME=DIR` (repeatable) measures the recognised route once
 * per model folder per round, alternating, for `--rounds` rounds (default 2), and skips the rest:
 *   node --import tsx bench/speech-serve.ts --reps 1 --rounds 3 --speech old=/tmp/old --speech new=models/speech-whisper-tiny-en
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Segment } from '../src/core/types.js';
import { resample } from '../src/ingest/resample.js';
import { resolveModelDir } from '../src/score/manifest.js';
import { createOnnxScorer } from '../src/score/onnx-scorer.js';

const REPO = new URL('../', import.meta.url).pathname;
const FIXTURES = join(REPO, 'fixtures', 'heldout-voice');
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '2' }, sustain: { type: 'string', default: '' }, seconds: { type: 'string', default: '40' },
    speech: { type: 'string', multiple: true, default: [] }, rounds: { type: 'string', default: '2' },
  },
});
const SPEECH_DIR = join(REPO, 'models', 'speech-whisper-tiny-en');
const REPS = Number(values.reps);
/** Channels that send their transcript too, beside the N text-missing ones of --sustain. */
const TRANSCRIPT_CHANNELS = 4;

interface Sentence { audio: Float32Array; text: string }

function sentences(): Sentence[] {
  const out: Sentence[] = [];
  for (const id of readdirSync(FIXTURES).filter((d) => d.startsWith('heldout-')).sort()) {
    const meta = JSON.parse(readFileSync(join(FIXTURES, id, 'call.json'), 'utf8')) as { utterances: { startMs: number; endMs: number; text: string }[] };
    const b = readFileSync(join(FIXTURES, id, 'customer.pcm'));
    const s16 = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    for (const u of meta.utterances) {
      const a = s16.subarray(Math.max(0, (u.startMs - 300) * 8), Math.min(s16.length, (u.endMs + 300) * 8));
      out.push({ audio: resample(Float32Array.from(a, (x) => x / 32768), 8000, 16000), text: u.text });
    }
  }
  return out;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const segment = (s: Sentence, text: string | null, i: number): Segment => ({
  callId: 'bench', tenant: 'bench', channel: 'customer', index: i, revision: 0, startMs: 0, endMs: (s.audio.length / 16) | 0,
  audio: s.audio, text, video: null, videoFrames: 0, sources: [], sealedAtWallMs: Date.now(),
});

async function measure(route: 'recognised' | 'simulated' | 'transcript', data: Sentence[], speechDir = SPEECH_DIR): Promise<{ coreMsPerS: number; wallMsPerSegment: number; speechMsPerS: number; sources: string }> {
  let speechMs = 0;
  const scorer = createOnnxScorer({
    modelDir: resolveModelDir(process.env.MODEL_DIR, REPO), providers: ['cpu'], workers: 1, intraOpThreads: 1, maxWaitMs: 0,
    speech: route === 'simulated' ? null : { modelDir: speechDir, maxQueue: 1000, deadlineMs: 600_000 },
    onResult: (e) => { speechMs += e.speechMs; },
  });
  await scorer.start();
  try {
    await scorer.score(segment(data[0], route === 'transcript' ? data[0].text : null, 0)); // warm-up
    speechMs = 0;
    const seen = new Map<string, number>();
    const c0 = cpuMs();
    const w0 = performance.now();
    let audioS = 0;
    for (let r = 0; r < REPS; r++) {
      for (const [i, s] of data.entries()) {
        const out = await scorer.score(segment(s, route === 'transcript' ? s.text : null, i));
        seen.set(out.textSource, (seen.get(out.textSource) ?? 0) + 1);
        audioS += s.audio.length / 16000;
      }
    }
    const n = REPS * data.length;
    return {
      coreMsPerS: (cpuMs() - c0) / audioS,
      wallMsPerSegment: (performance.now() - w0) / n,
      speechMsPerS: speechMs / audioS,
      sources: [...seen].map(([k, v]) => `${k} ${v}`).join(', '),
    };
  } finally {
    await scorer.stop();
  }
}

/** N channels in real time for `seconds`: outcomes and latency (submit -> score) p50/p95/max. */
async function sustain(n: number, data: Sentence[], seconds: number): Promise<string> {
  const scorer = createOnnxScorer({
    modelDir: resolveModelDir(process.env.MODEL_DIR, REPO), providers: ['cpu'], workers: 1, intraOpThreads: 1,
    speech: { modelDir: SPEECH_DIR, maxQueue: 8, deadlineMs: 2000 },
  });
  await scorer.start();
  const outcomes = new Map<string, number>();
  const latencies: number[] = [];
  /** Latency of segments that carry their transcript, sent by TRANSCRIPT_CHANNELS more channels. */
  const withText: number[] = [];
  const c0 = cpuMs();
  const end = performance.now() + seconds * 1000;
  const channel = async (ch: number, transcript: boolean): Promise<void> => {
    await new Promise((r) => setTimeout(r, (ch * 4000) / n)); // staggered starts over one sentence
    const pending: Promise<void>[] = [];
    for (let k = ch * 7; performance.now() < end; k++) {
      const s = data[k % data.length];
      const t0 = performance.now();
      pending.push(scorer.score(segment(s, transcript ? s.text : null, k)).then((o) => {
        if (transcript) {
          withText.push(performance.now() - t0);
          return;
        }
        const key = o.speechFallback ?? 'recognised';
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        latencies.push(performance.now() - t0);
      }));
      await new Promise((r) => setTimeout(r, (s.audio.length / 16000) * 1000));
    }
    await Promise.all(pending);
  };
  await Promise.all([...Array.from({ length: n }, (_, ch) => channel(ch, false)), ...Array.from({ length: TRANSCRIPT_CHANNELS }, (_, ch) => channel(ch, true))]);
  const cpuShare = (cpuMs() - c0) / (seconds * 1000);
  await scorer.stop();
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(0);
  const qs = (xs: number[]) => `${q(xs, 0.5)} / ${q(xs, 0.95)} / ${q(xs, 1)}`;
  return `| ${n} | ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')} | ${qs(latencies)} | ${qs(withText)} | ${cpuShare.toFixed(2)} |`;
}

const data = sentences();
const seconds = data.reduce((a, s) => a + s.audio.length / 16000, 0);
console.log(`speech-serve: ${data.length} segments, ${(seconds / data.length).toFixed(2)} s mean (${seconds.toFixed(1)} audio-s), reps ${REPS}; ${cpus().length} cores (${cpus()[0].model}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| route | core-ms per audio-s | of which recogniser (worker wall ms per audio-s) | wall ms per segment | channels per core (1000 / core-ms) | text sources |');
console.log('|---|---|---|---|---|---|');
const models = values.speech.map((kv) => {
  const at = kv.indexOf('=');
  if (at <= 0) throw new Error(`--speech wants NAME=DIR, got ${kv}`);
  return { name: kv.slice(0, at), dir: kv.slice(at + 1) };
});
for (let round = 1; round <= (models.length ? Number(values.rounds) : 0); round++) {
  for (const { name, dir } of models) {
    const m = await measure('recognised', data, dir);
    console.log(`| recognised, ${name}, round ${round} | ${m.coreMsPerS.toFixed(1)} | ${m.speechMsPerS.toFixed(1)} | ${m.wallMsPerSegment.toFixed(0)} | ${(1000 / m.coreMsPerS).toFixed(1)} | ${m.sources} |`);
  }
}
for (const route of REPS > 0 && !models.length ? (['recognised', 'simulated', 'transcript'] as const) : []) {
  const m = await measure(route, data);
  console.log(`| ${route} | ${m.coreMsPerS.toFixed(1)} | ${m.speechMsPerS.toFixed(1)} | ${m.wallMsPerSegment.toFixed(0)} | ${(1000 / m.coreMsPerS).toFixed(1)} | ${m.sources} |`);
}
console.log(`after: load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
if (values.sustain) {
  console.log(`\nsustain ${values.seconds} s, queue 8, deadline 2000 ms; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`| channels | outcomes | latency p50 / p95 / max ms | latency with transcript (${TRANSCRIPT_CHANNELS} more channels) | process CPU (cores) |`);
  console.log('|---|---|---|---|---|');
  for (const n of values.sustain.split(',').map(Number)) console.log(await sustain(n, data, Number(values.seconds)));
  console.log(`after: load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}
