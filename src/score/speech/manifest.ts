/**
 * Loads and validates a speech model folder's `manifest.json` (written by
 * `python -m sdumc.speech.export`, described in docs/model.md "Speech model"). Every problem is a
 * MODEL_MANIFEST_INVALID naming the first field found wrong.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../../core/errors.js';

/** Whisper's dimensions (the Python ModelDimensions dataclass, field for field). */
export interface SpeechDims {
  n_mels: number;
  /** Encoder frames of a full 30 s window: the most a segment may use. */
  n_audio_ctx: number;
  n_audio_state: number;
  n_audio_head: number;
  n_audio_layer: number;
  n_vocab: number;
  n_text_ctx: number;
  n_text_state: number;
  n_text_head: number;
  n_text_layer: number;
}

/** Greedy decoding rules (sdumc/speech/decode.py has the same). */
export interface SpeechDecodeRules {
  /** Hard cap on generated tokens per segment (whisper's sample_len, 224). */
  maxNewTokens: number;
  /** Budget per segment: tokensBase + ceil(tokensPerSecond * seconds), at most maxNewTokens. */
  tokensPerSecond: number;
  tokensBase: number;
  /** Default shortest encoder context in seconds (shorter segments are followed by silence). */
  minContextSeconds: number;
  /** A pattern of 1..repeatSpan tokens seen repeatTimes in a row at the end stops decoding. */
  repeatSpan: number;
  repeatTimes: number;
  /** So does one of repeatSpan+1..longRepeatSpan tokens seen longRepeatTimes in a row. */
  longRepeatSpan: number;
  longRepeatTimes: number;
}

export interface SpeechManifest {
  version: string;
  /** Absolute folder holding manifest.json. */
  dir: string;
  dims: SpeechDims;
  /** Absolute paths of the two graphs and the tokenizer. */
  encoderPath: string;
  decoderPath: string;
  tokenizerPath: string;
  tokens: { sot: number; eot: number; noTimestamps: number; suppress: number[]; suppressBegin: number[] };
  decode: SpeechDecodeRules;
  mel: { sampleRate: number; nFft: number; hop: number; nMels: number; samplesPerFrame: number; maxFrames: number };
}

type Json = Record<string, unknown>;

export function loadSpeechManifest(dir: string): SpeechManifest {
  const folder = resolve(dir);
  const path = join(folder, 'manifest.json');
  const bad = (reason: string): AppError => new AppError('MODEL_MANIFEST_INVALID', { path, reason });
  if (!existsSync(path)) throw bad('file not found');
  let raw: Json;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch (e) {
    throw bad(`not JSON: ${(e as Error).message}`);
  }
  const obj = (v: unknown, what: string): Json => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
    return v as Json;
  };
  const int = (o: Json, key: string, what: string): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(`${what}.${key} must be a non-negative integer`);
    return v;
  };
  const num = (o: Json, key: string, what: string): number => {
    const v = o[key];
    if (typeof v !== 'number' || !(v >= 0 && v <= 30)) throw bad(`${what}.${key} must be a number of seconds in 0..30`);
    return v;
  };
  const ints = (o: Json, key: string, what: string): number[] => {
    const v = o[key];
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw bad(`${what}.${key} must be a list of integers`);
    return v as number[];
  };
  const file = (name: unknown, what: string): string => {
    if (typeof name !== 'string' || name.includes('/') || name.includes('\\')) throw bad(`${what} must be a file name in the folder`);
    const p = join(folder, name);
    if (!existsSync(p)) throw bad(`${what} ${name} is missing`);
    return p;
  };
  if (raw.format !== 1) throw bad(`format ${String(raw.format)} is not 1`);
  if (typeof raw.version !== 'string' || !raw.version) throw bad('version must be a string');
  const d = obj(raw.dims, 'dims');
  const dimKeys = ['n_mels', 'n_audio_ctx', 'n_audio_state', 'n_audio_head', 'n_audio_layer', 'n_vocab', 'n_text_ctx', 'n_text_state', 'n_text_head', 'n_text_layer'] as const;
  const dims = Object.fromEntries(dimKeys.map((k) => [k, int(d, k, 'dims')])) as unknown as SpeechDims;
  const graphs = obj(raw.graphs, 'graphs');
  const t = obj(raw.tokens, 'tokens');
  const dec = obj(raw.decode, 'decode');
  const mel = obj(raw.mel, 'mel');
  const m: SpeechManifest = {
    version: raw.version,
    dir: folder,
    dims,
    encoderPath: file(obj(graphs.encoder, 'graphs.encoder').file, 'graphs.encoder.file'),
    decoderPath: file(obj(graphs.decoder, 'graphs.decoder').file, 'graphs.decoder.file'),
    tokenizerPath: file(obj(raw.tokenizer, 'tokenizer').file, 'tokenizer.file'),
    tokens: { sot: int(t, 'sot', 'tokens'), eot: int(t, 'eot', 'tokens'), noTimestamps: int(t, 'noTimestamps', 'tokens'), suppress: ints(t, 'suppress', 'tokens'), suppressBegin: ints(t, 'suppressBegin', 'tokens') },
    decode: { maxNewTokens: int(dec, 'maxNewTokens', 'decode'), tokensPerSecond: int(dec, 'tokensPerSecond', 'decode'), tokensBase: int(dec, 'tokensBase', 'decode'), minContextSeconds: num(dec, 'minContextSeconds', 'decode'), repeatSpan: int(dec, 'repeatSpan', 'decode'), repeatTimes: int(dec, 'repeatTimes', 'decode'), longRepeatSpan: int(dec, 'longRepeatSpan', 'decode'), longRepeatTimes: int(dec, 'longRepeatTimes', 'decode') },
    mel: { sampleRate: int(mel, 'sampleRate', 'mel'), nFft: int(mel, 'nFft', 'mel'), hop: int(mel, 'hop', 'mel'), nMels: int(mel, 'nMels', 'mel'), samplesPerFrame: int(mel, 'samplesPerFrame', 'mel'), maxFrames: int(mel, 'maxFrames', 'mel') },
  };
  if (m.mel.sampleRate !== 16000 || m.mel.nFft !== 400 || m.mel.hop !== 160 || m.mel.nMels !== dims.n_mels || m.mel.samplesPerFrame !== 2 * m.mel.hop) {
    throw bad('mel must be Whisper\'s: 16 kHz, n_fft 400, hop 160, n_mels = dims.n_mels, 320 samples per encoder frame');
  }
  if (m.mel.maxFrames !== dims.n_audio_ctx) throw bad('mel.maxFrames must equal dims.n_audio_ctx');
  if (m.decode.repeatTimes < 2 || m.decode.longRepeatTimes < 2 || m.decode.repeatSpan < 1 || m.decode.longRepeatSpan < m.decode.repeatSpan) {
    throw bad('decode.repeatTimes and longRepeatTimes must be >= 2, 1 <= repeatSpan <= longRepeatSpan');
  }
  if (m.decode.maxNewTokens < 1 || m.decode.maxNewTokens + 2 > dims.n_text_ctx) throw bad('decode.maxNewTokens must be in 1..n_text_ctx-2');
  return m;
}
