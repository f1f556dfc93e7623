/**
 * Speech model benchmark (issue 12): CPU milliseconds per second of audio on one thread, for the
 * encoder alone and encoder + greedy decoding, at 2, 5 and 10 s segments, with the encoder
 * context trimmed to the segment and at least 10 s, int8 (committed) vs fp32 side by side in
 * one run. Audio: the committed golden clips (espeak-ng speech), see segment(). Encoder figures
 * include the TypeScript log-mel (its own column).
 * Core-ms = process CPU time (user + system) over the calls / audio seconds; one intra-op thread.
 *
 *   node --import tsx bench/speech.ts [--fp32 models/cache/speech-fp32] [--reps 3]
 *
 * The fp32 graphs are too large to commit; build them once with
 *   cd models && ../.venv/bin/python -m sdumc.speech.export --out /tmp/speech --fp32 cache/speech-fp32
 * Without them only int8 runs. Also prints the TypeScript log-mel's share.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { logMel } from '../src/score/speech/mel.js';
import { SpeechRecogniser } from '../src/score/speech/recogniser.js';

const REPO = new URL('../', import.meta.url).pathname;
const DIR = join(REPO, 'models/speech-whisper-tiny-en');
const { values } = parseArgs({ options: { fp32: { type: 'string', default: join(REPO, 'models/cache/speech-fp32') }, reps: { type: 'string', default: '3' } } });
const REPS = Number(values.reps);

function readWav(path: string): Float32Array {
  const b = readFileSync(path);
  const at = b.indexOf('data', 12) + 8;
  const n = b.readUInt32LE(at - 4) / 2;
  return Float32Array.from({ length: n }, (_, i) => b.readInt16LE(at + 2 * i) / 32768);
}

const speech = ['joey', 'rachel', 'monica'].map((c) => readWav(join(DIR, 'golden', `${c}.wav`)));
/**
 * A `seconds` segment as a pause-based segmenter would cut it: whole clips with 0.3 s pauses
 * while they fit, then silence to the length; when not even one clip fits, the first clip cut
 * at the length (mid-sentence).
 */
function segment(seconds: number): Float32Array {
  const out = new Float32Array(seconds * 16000);
  let at = 0;
  for (const clip of speech) {
    if (at + clip.length > out.length) break;
    out.set(clip, at);
    at += clip.length + 4800;
  }
  if (at === 0) out.set(speech[0].subarray(0, out.length));
  return out;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Row { graphs: string; context: string; seconds: number; encoderCoreMsPerS: number; fullCoreMsPerS: number; melMsPerS: number; tokens: number; text: string }

async function measure(graphs: string, paths: { encoder: string; decoder: string } | undefined, minContext: number): Promise<Row[]> {
  const r = await SpeechRecogniser.open(DIR, { minContextSeconds: minContext, graphPaths: paths });
  const rows: Row[] = [];
  try {
    await r.recognise(segment(2)); // warm-up: first runs allocate
    for (const seconds of [2, 5, 10]) {
      const audio = segment(seconds);
      let enc = 0, full = 0, mel = 0;
      let last = await r.recognise(audio);
      for (let i = 0; i < REPS; i++) {
        const c0 = cpuMs();
        await r.encode(audio);
        const c1 = cpuMs();
        last = await r.recognise(audio);
        const c2 = cpuMs();
        logMel(audio, minContext * 16000);
        enc += c1 - c0;
        full += c2 - c1;
        mel += cpuMs() - c2;
      }
      rows.push({ graphs, context: minContext ? `>=${minContext} s` : 'trimmed', seconds, encoderCoreMsPerS: enc / REPS / seconds, fullCoreMsPerS: full / REPS / seconds, melMsPerS: mel / REPS / seconds, tokens: last.tokens.length, text: last.text });
    }
  } finally {
    await r.release();
  }
  return rows;
}

const fp32 = { encoder: join(values.fp32!, 'encoder.fp32.onnx'), decoder: join(values.fp32!, 'decoder.fp32.onnx') };
const variants: [string, { encoder: string; decoder: string } | undefined][] = [['int8', undefined]];
if (existsSync(fp32.encoder) && existsSync(fp32.decoder)) variants.push(['fp32', fp32]);
else console.log(`(no fp32 graphs in ${values.fp32}: int8 only; see the header for how to build them)`);

console.log(`CPU: ${cpus()[0]?.model} x${cpus().length}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}, reps ${REPS}`);
const rows: Row[] = [];
for (const context of [0, 10]) for (const [name, paths] of variants) rows.push(...(await measure(name, paths, context)));
console.log('| graphs | context | segment s | encoder core-ms/audio-s | encoder + decode core-ms/audio-s | of which log-mel core-ms/audio-s | tokens |');
console.log('|---|---|---|---|---|---|---|');
for (const x of rows) console.log(`| ${x.graphs} | ${x.context} | ${x.seconds} | ${x.encoderCoreMsPerS.toFixed(1)} | ${x.fullCoreMsPerS.toFixed(1)} | ${x.melMsPerS.toFixed(1)} | ${x.tokens} |`);
console.log(JSON.stringify(rows));
