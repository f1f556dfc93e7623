/**
 * Turns a fixture call into the timed chunks a live call would produce: audio and face features
 * as they are captured (every `audioChunkMs` / `videoChunkMs`), transcript pieces after an ASR
 * delay — some never arrive, some arrive so late that their segment was already scored without
 * text (which exercises the revision path). Seeded: the same seed gives the same call.
 *
 * Used by the demo (in-process source), the benchmark and the integration tests (Kafka).
 */
import { CONTROL_CHANNEL } from '../../../schema/chunk.js';
import type { MediaChunk } from '../../core/types.js';
import type { FixtureCall } from './fixtures.js';

export interface ScriptOptions {
  callId: string;
  tenant?: string;
  /** Unix ms of the call's start (event-time epoch). */
  epochMs: number;
  seed?: number;
  /** Audio chunk length, ms (default 200). */
  audioChunkMs?: number;
  /** Video chunk length, ms (default 1000). */
  videoChunkMs?: number;
  /** Share of utterances whose transcript never arrives (default 0.2). */
  dropTranscriptShare?: number;
  /** Share of utterances whose transcript arrives after `lateTranscriptMs` (default 0.1). */
  lateTranscriptShare?: number;
  /** ASR delay of a normal transcript after the utterance ends, ms (default 700). */
  asrDelayMs?: number;
  /** Delay of a late transcript after the utterance ends, ms (default 6000). */
  lateTranscriptMs?: number;
  /** Send face features (default true when the fixture has them). */
  video?: boolean;
}

/** A chunk and when to send it, ms after the call's start. */
export interface TimedChunk {
  atMs: number;
  chunk: MediaChunk;
}

/** mulberry32: small, seedable, good enough for demo choices. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function scriptCall(call: FixtureCall, o: ScriptOptions): TimedChunk[] {
  const rand = rng(o.seed ?? 1);
  const audioMs = o.audioChunkMs ?? 200;
  const videoMs = o.videoChunkMs ?? 1000;
  const tenant = o.tenant ?? call.tenant;
  const base = { callId: o.callId, tenant, contractVersion: 1 };
  const out: TimedChunk[] = [];
  out.push({ atMs: 0, chunk: { ...base, modality: 'control', kind: 'call_start', channel: CONTROL_CHANNEL, seq: 0, eventTimeMs: o.epochMs, durationMs: 0, meta: { fixture: call.id }, ...(call.displayName ? { displayName: call.displayName } : {}) } });

  for (const [channel, media] of call.channels) {
    const perChunk = Math.round((media.sampleRate * audioMs) / 1000);
    for (let i = 0, seq = 0; i < media.pcm.length; i += perChunk, seq++) {
      const s16 = media.pcm.subarray(i, Math.min(media.pcm.length, i + perChunk));
      const samples = new Float32Array(s16.length);
      for (let k = 0; k < s16.length; k++) samples[k] = s16[k] / 32768;
      const startMs = (i / media.sampleRate) * 1000;
      const durationMs = (s16.length / media.sampleRate) * 1000;
      out.push({ atMs: startMs + durationMs, chunk: { ...base, modality: 'audio', channel, seq, eventTimeMs: o.epochMs + startMs, durationMs, samples, sampleRate: media.sampleRate } });
    }
    if (media.video && o.video !== false) {
      const framesPer = Math.max(1, Math.round((call.videoFps * videoMs) / 1000));
      const total = Math.floor(media.video.length / call.videoDim);
      for (let f = 0, seq = 0; f < total; f += framesPer, seq++) {
        const n = Math.min(framesPer, total - f);
        const frames = media.video.slice(f * call.videoDim, (f + n) * call.videoDim);
        const startMs = (f / call.videoFps) * 1000;
        const durationMs = (n / call.videoFps) * 1000;
        out.push({ atMs: startMs + durationMs, chunk: { ...base, modality: 'video', channel, seq, eventTimeMs: o.epochMs + startMs, durationMs, frames, featureDim: call.videoDim, fps: call.videoFps } });
      }
    }
  }

  const textSeq = new Map<string, number>();
  let lastAt = call.durationMs;
  for (const [k, u] of call.utterances.entries()) {
    const r = rand();
    if (r < (o.dropTranscriptShare ?? 0.2)) continue;
    const late = r < (o.dropTranscriptShare ?? 0.2) + (o.lateTranscriptShare ?? 0.1);
    const atMs = u.endMs + (late ? o.lateTranscriptMs ?? 6000 : o.asrDelayMs ?? 700);
    out.push({ atMs, chunk: { ...base, modality: 'text', channel: u.channel, seq: 0, eventTimeMs: o.epochMs + u.startMs, durationMs: u.endMs - u.startMs, text: u.text, final: true, utteranceId: `${call.id}/${k}` } });
    lastAt = Math.max(lastAt, atMs);
  }
  out.push({ atMs: lastAt + 500, chunk: { ...base, modality: 'control', kind: 'call_end', channel: CONTROL_CHANNEL, seq: 1, eventTimeMs: o.epochMs + call.durationMs, durationMs: 0 } });
  // Stable sort by send time; ties keep generation order (call_start first, call_end last).
  const sorted = out.map((c, i) => ({ c, i })).sort((a, b) => a.c.atMs - b.c.atMs || a.i - b.i).map((x) => x.c);
  // A producer numbers transcript pieces in the order it sends them (a late piece is sent late).
  textSeq.clear();
  for (const { chunk } of sorted) {
    if (chunk.modality !== 'text') continue;
    const seq = textSeq.get(chunk.channel) ?? 0;
    chunk.seq = seq;
    textSeq.set(chunk.channel, seq + 1);
  }
  return sorted;
}
