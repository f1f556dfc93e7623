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
 *   node --import tsx bench/speech-serve.ts [--reps 2]
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
const { values } = parseArgs({ options: { reps: { type: 'string', default: '2' } } });
const REPS = Number(values.reps);

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

async function measure(route: 'recognised' | 'simulated' | 'transcript', data: Sentence[]): Promise<{ coreMsPerS: number; wallMsPerSegment: number; speechMsPerS: number; sources: string }> {
  let speechMs = 0;
  const scorer = createOnnxScorer({
    modelDir: resolveModelDir(process.env, REPO), providers: ['cpu'], workers: 1, intraOpThreads: 1, maxWaitMs: 0,
    speech: route === 'simulated' ? null : { modelDir: join(REPO, 'models', 'speech-whisper-tiny-en'), maxQueue: 1000, deadlineMs: 600_000 },
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

const data = sentences();
const seconds = data.reduce((a, s) => a + s.audio.length / 16000, 0);
console.log(`speech-serve: ${data.length} segments, ${(seconds / data.length).toFixed(2)} s mean (${seconds.toFixed(1)} audio-s), reps ${REPS}; ${cpus().length} cores (${cpus()[0].model}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| route | core-ms per audio-s | of which recogniser (worker wall ms per audio-s) | wall ms per segment | channels per core (1000 / core-ms) | text sources |');
console.log('|---|---|---|---|---|---|');
for (const route of ['recognised', 'simulated', 'transcript'] as const) {
  const m = await measure(route, data);
  console.log(`| ${route} | ${m.coreMsPerS.toFixed(1)} | ${m.speechMsPerS.toFixed(1)} | ${m.wallMsPerSegment.toFixed(0)} | ${(1000 / m.coreMsPerS).toFixed(1)} | ${m.sources} |`);
}
console.log(`after: load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
