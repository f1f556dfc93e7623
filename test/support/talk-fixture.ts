/**
 * The talk fixture (fixtures/talk/, made by scripts/make-talk-fixture.py): a synthetic
 * two-channel call with known turns, read straight from its WAV and JSON, and streamed as
 * contract-v1 records the way a producer sends a live call.
 */
import { readFileSync } from 'node:fs';
import { H } from '../../schema/chunk.js';
import type { RawChunk } from '../../src/core/ports.js';

const DIR = new URL('../../fixtures/talk/', import.meta.url);
export interface Turn { channel: string; startMs: number; endMs: number; amplitude: number; text: string | null }
export const meta = JSON.parse(readFileSync(new URL('two-channel.json', DIR), 'utf8')) as { sampleRate: number; durationMs: number; channels: string[]; turns: Turn[] };
export const T0 = 1_764_000_000_000;
const CHUNK_MS = 100;
/** The VAD's pad on each side of speech (src/window/options.ts DEFAULT_VAD.padMs): part of the definition. */
export const PAD_MS = 100;
/** One VAD frame per edge: a turn's onset and offset are found to the nearest 20 ms frame. */
export const EDGE_MS = 20;

/** The WAV's samples per channel, as float in [-1, 1) (16-bit PCM, interleaved). */
function readWav(): { rate: number; channels: Int16Array[] } {
  const b = readFileSync(new URL('two-channel.wav', DIR));
  let at = 12;
  let fmt: { ch: number; rate: number } | null = null;
  while (at < b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ') fmt = { ch: b.readUInt16LE(at + 10), rate: b.readUInt32LE(at + 12) };
    if (id === 'data') {
      const n = size / 2 / fmt!.ch;
      const chans = Array.from({ length: fmt!.ch }, () => new Int16Array(n));
      for (let i = 0; i < n; i++) for (let c = 0; c < fmt!.ch; c++) chans[c][i] = b.readInt16LE(at + 8 + 2 * (i * fmt!.ch + c));
      return { rate: fmt!.rate, channels: chans };
    }
    at += 8 + size;
  }
  throw new Error('no data chunk');
}

export const wav = readWav();

export interface StreamOptions {
  callId?: string;
  tenant?: string;
  /** call_start's x-display-name. */
  displayName?: string;
  /** Before each final transcript, an interim piece (x-final: false, same x-utterance-id) with
   *  the first half of its words, as a streaming ASR sends them mid-turn. */
  interims?: boolean;
}

/** The records of one transcript-bearing turn's pieces, cumulative, and when each is sent (ms of call time). */
function pieces(t: Turn, o: StreamOptions): { atMs: number; headers: Record<string, string>; text: string }[] {
  const id = `turn-${t.startMs}`;
  const words = t.text!.split(' ');
  const out: { atMs: number; headers: Record<string, string>; text: string }[] = [];
  if (o.interims) {
    const halfMs = Math.round((t.endMs - t.startMs) / 2);
    out.push({ atMs: t.startMs + halfMs + 300, text: words.slice(0, Math.ceil(words.length / 2)).join(' '), headers: { [H.durationMs]: String(halfMs), [H.final]: 'false', [H.utteranceId]: id } });
  }
  // The final piece spans the turn and 150 ms of its tail (ASR word times are rough).
  out.push({ atMs: t.endMs + 300, text: t.text!, headers: { [H.durationMs]: String(t.endMs - t.startMs + 150), [H.final]: 'true', [H.utteranceId]: id } });
  return out.map((p) => ({ ...p, headers: { ...p.headers, [H.modality]: 'text', [H.channel]: t.channel, [H.eventTimeMs]: String(T0 + t.startMs) } }));
}

/** The call as a producer streams it: 100 ms audio records of both legs in time order (8 kHz,
 *  as in the WAV), each customer turn's transcript pieces 300 ms after the audio they cover. */
export function callRecords(o: StreamOptions = {}): RawChunk[] {
  const out: RawChunk[] = [];
  const raw = (headers: Record<string, string>, value: Buffer): RawChunk => ({
    key: Buffer.from(o.callId ?? 'talk-1'),
    headers: { [H.version]: '1', [H.tenant]: o.tenant ?? 'acme', ...headers },
    value,
    source: { topic: 'talk-fixture', partition: 0, offset: String(out.length) },
  });
  const start = { [H.modality]: 'control', [H.seq]: '0', [H.eventTimeMs]: String(T0), ...(o.displayName ? { [H.displayName]: o.displayName } : {}) };
  out.push(raw(start, Buffer.from('{"kind":"call_start"}')));
  const per = (CHUNK_MS * wav.rate) / 1000;
  const texts = meta.turns.filter((t) => t.text).flatMap((t) => pieces(t, o)).sort((a, b) => a.atMs - b.atMs);
  let textSeq = 0;
  for (let i = 0; i * per < wav.channels[0].length; i++) {
    const tMs = i * CHUNK_MS;
    meta.channels.forEach((ch, c) => {
      const pcm = wav.channels[c].subarray(i * per, (i + 1) * per);
      const value = Buffer.from(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
      out.push(raw({ [H.modality]: 'audio', [H.channel]: ch, [H.seq]: String(i), [H.eventTimeMs]: String(T0 + tMs), [H.sampleRate]: String(wav.rate) }, value));
    });
    while (texts.length && texts[0].atMs <= tMs + CHUNK_MS) {
      const p = texts.shift()!;
      out.push(raw({ ...p.headers, [H.seq]: String(textSeq++) }, Buffer.from(p.text)));
    }
  }
  out.push(raw({ [H.modality]: 'control', [H.seq]: '1', [H.eventTimeMs]: String(T0 + meta.durationMs) }, Buffer.from('{"kind":"call_end"}')));
  return out;
}

// ---- the reference: straight from the known turns and the WAV samples ----
export type Span = [number, number];

/** A channel's turns widened by the VAD pad (the documented definition of talk spans). */
export const padded = (ch: string): Span[] => meta.turns.filter((t) => t.channel === ch).map((t) => [t.startMs - PAD_MS, t.endMs + PAD_MS]);
export const len = (s: Span[]): number => s.reduce((n, [a, b]) => n + b - a, 0);

/** Overlap of two span lists, brute force over the 1 ms grid (the turns are whole ms). */
export function overlapMs(a: Span[], b: Span[]): number {
  let n = 0;
  for (let t = 0; t < meta.durationMs; t++) if (a.some(([s, e]) => t >= s && t < e) && b.some(([s, e]) => t >= s && t < e)) n++;
  return n;
}

/** Mean power and peak (dBFS) of channel `c`'s WAV samples inside `spans`. */
export function levels(c: number, spans: Span[]): { mean: number; peak: number } {
  let sum = 0;
  let n = 0;
  let peak = 0;
  for (const [s, e] of spans) {
    for (let i = Math.round((s * wav.rate) / 1000); i < Math.round((e * wav.rate) / 1000); i++) {
      const x = wav.channels[c][i] / 32768;
      sum += x * x;
      n++;
      peak = Math.max(peak, Math.abs(x));
    }
  }
  return { mean: 10 * Math.log10(sum / n), peak: 20 * Math.log10(peak) };
}
