/**
 * Scorer benchmark: segments/s through the whole Scorer (worker thread, tokenise, int8 text
 * encoder, fusion graph) at batch 1 and batch 32, with the transcript present and missing, side
 * by side in one run. Batch 1 = one segment at a time, awaited (latency-bound); batch 32 = 32
 * segments submitted together, so each micro-batch is full. A last row runs the text encoder
 * on all 32 transcripts at once (textBatch 32) instead of one at a time (the default).
 *
 *   nice -n 10 node --import tsx bench/scorer.ts [--seconds 10] [--audio-s 4] [--workers 1,2 --rounds 2]
 *
 * `--workers 1,2`: each count in turn (`--rounds` times, alternating) at batch 1 and 32, with
 * batch x workers segments in flight per round, so every worker has a full micro-batch (one
 * awaited segment keeps only one worker busy, whatever the pool's size).
 *
 * Env, read through the server's config schema (README.md's table): MODEL_DIR / models/CURRENT
 * (model), SCORER_PROVIDERS, SCORER_WORKERS (default `auto`: src/score/worker-count.ts),
 * SCORER_INTRA_OP_THREADS (default 1).
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Segment } from '../src/core/types.js';
import { loadConfig } from '../src/app/config.js';
import { createOnnxScorer } from '../src/score/onnx-scorer.js';
import { autoWorkerCount } from '../src/score/worker-count.js';

/** MODEL_DIR, SCORER_PROVIDERS, SCORER_WORKERS, SCORER_INTRA_OP_THREADS as the server reads them. */
const config = loadConfig();

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, 'audio-s': { type: 'string', default: '4' }, workers: { type: 'string' }, rounds: { type: 'string', default: '1' } } });
const WORKERS = values.workers ? values.workers.split(',').map(Number) : [config.scorerWorkers === 'auto' ? autoWorkerCount().workers : config.scorerWorkers];
const SECONDS = Number(values.seconds);
const AUDIO_S = Number(values['audio-s']);

/** Call-centre-like utterances of varied length (5 to 40 words). */
const TEXTS = [
  'Hi, thanks for calling, how can I help you today?',
  'I have been waiting for over an hour and nobody has called me back.',
  'That is great, thank you so much for sorting this out so quickly.',
  'My card was charged twice for the same order and I would like a refund.',
  'Okay.',
  'Could you please confirm the address on the account before we continue with the change?',
  'This is the third time the router has stopped working this month and honestly I am about ready to cancel the whole contract and go somewhere else.',
  'No worries at all, I can see the payment went through this morning.',
  'I do not understand why this is so complicated.',
  'Perfect, that works for me.',
  'I was told last week that an engineer would come on Tuesday but nobody showed up and nobody called.',
  'Let me transfer you to the billing team, they will be able to help with that.',
];

let seed = 1;
const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;

function makeSegment(i: number, withText: boolean, rate: number, featureDim: number, fps: number): Segment {
  const n = Math.round(AUDIO_S * rate);
  const audio = new Float32Array(n);
  for (let k = 0; k < n; k++) audio[k] = 0.3 * Math.sin((2 * Math.PI * (180 + (i % 7) * 20) * k) / rate) * (0.6 + 0.4 * Math.sin(k / 800)) + 0.02 * rnd();
  const frames = Math.round(AUDIO_S * fps);
  const video = Float32Array.from({ length: frames * featureDim }, () => 0.5 + 0.3 * rnd());
  return {
    callId: `bench-${i % 50}`, tenant: 'bench', channel: i % 2 ? 'agent' : 'customer', index: i, revision: 0, startMs: 0, endMs: AUDIO_S * 1000,
    audio, text: withText ? TEXTS[i % TEXTS.length] : null, video, videoFrames: frames, sources: [], sealedAtWallMs: Date.now(),
  };
}

interface Row { workers: number; batch: number; textBatch: number; text: string; segPerS: number; batchMsP50: number; textMs: number; fusionMs: number }

/** One scorer at micro-batch `batch`; text encoder runs `textBatch` transcripts at a time. */
async function measure(workers: number, batch: number, textBatch = 1, variants: boolean[] = [true, false]): Promise<Row[]> {
  const timings: { textMs: number; fusionMs: number }[] = [];
  const inFlight = batch * workers;
  const scorer = createOnnxScorer({ modelDir: config.modelDir ?? undefined, providers: config.providers, workers, intraOpThreads: config.scorerIntraOpThreads, maxBatch: batch, maxWaitMs: 5, textBatch, onResult: (e) => timings.push(e) });
  await scorer.start();
  const m = scorer.manifest();
  const pool = Array.from({ length: 64 }, (_, i) => i);
  const rows: Row[] = [];
  for (const withText of variants) {
    const segs = pool.map((i) => makeSegment(i, withText, m.audio.sampleRate, m.video.featureDim, m.video.fps));
    const round = async (r: number): Promise<void> => {
      if (inFlight === 1) await scorer.score(segs[r % segs.length]);
      else await Promise.all(Array.from({ length: inFlight }, (_, k) => scorer.score(segs[(r * inFlight + k) % segs.length])));
    };
    for (let r = 0; r < 3; r++) await round(r); // warm-up
    timings.length = 0;
    const lat: number[] = [];
    let done = 0;
    const t0 = performance.now();
    for (let r = 0; performance.now() - t0 < SECONDS * 1000; r++) {
      const s = performance.now();
      await round(r);
      lat.push(performance.now() - s);
      done += inFlight;
    }
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    const mean = (k: 'textMs' | 'fusionMs') => timings.reduce((a, t) => a + t[k], 0) / Math.max(1, timings.length);
    rows.push({ workers, batch, textBatch, text: withText ? 'present' : 'missing', segPerS: done / secs, batchMsP50: lat[Math.floor(lat.length / 2)], textMs: mean('textMs'), fusionMs: mean('fusionMs') });
  }
  const info = scorer.info();
  await scorer.stop();
  console.error(`workers ${workers}, batch ${batch}: model ${info.modelVersion} on ${info.executionProvider} (${info.providerAttempts.map((a) => `${a.provider}:${a.ok ? 'ok' : 'failed'}`).join(', ')})`);
  return rows;
}

// The last row shows what batching the int8 text encoder would buy (see RunnerOptions.textBatch).
const rows: Row[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const w of WORKERS) {
    rows.push(...(await measure(w, 1)), ...(await measure(w, 32)));
    if (!values.workers) rows.push(...(await measure(w, 32, 32, [true])));
  }
}
console.log(`\nScorer: ${AUDIO_S} s audio + ${AUDIO_S} s video per segment, ${SECONDS} s per cell; ${cpus().length} cores (${cpus()[0]?.model}), load avg at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`intra-op threads ${config.scorerIntraOpThreads}; a row's ms per batch is one round: batch x workers segments\n`);
console.log('| workers | batch | text | text-encoder rows/run | segments/s | ms per round (p50) | text ms/batch | fusion ms/batch |');
console.log('|---:|---:|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.workers} | ${r.batch} | ${r.text} | ${r.text === 'present' ? r.textBatch : '-'} | ${r.segPerS.toFixed(1)} | ${r.batchMsP50.toFixed(1)} | ${r.textMs.toFixed(1)} | ${r.fusionMs.toFixed(1)} |`);
