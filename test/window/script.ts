/**
 * Builds the chunks of a scripted call for window tests: audio as a pattern of speech (tone) and
 * silence cut into fixed-length chunks, transcript pieces and video at given times.
 */
import type { AudioChunk, MediaChunk } from '../../src/core/types.js';
import type { WindowEvent } from '../../src/window/windower.js';
import { T0, audioChunk, ref, silence, textChunk, tone, videoChunk } from '../support/chunks.js';

export type Part = ['speech' | 'silence', number];

/** Audio chunks of `chunkMs` covering the pattern, seq from 0, starting at t0. */
export function audioStream(o: { callId?: string; tenant?: string; channel?: string; pattern: Part[]; chunkMs?: number; t0?: number; noise?: number }): AudioChunk[] {
  const chunkMs = o.chunkMs ?? 100;
  const parts = o.pattern.map(([kind, ms]) => (kind === 'speech' ? tone(ms) : silence(ms, 16000, o.noise ?? 0)));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const per = (chunkMs * 16000) / 1000;
  const out: AudioChunk[] = [];
  for (let i = 0, seq = 0; i < total; i += per, seq++) {
    out.push(audioChunk({
      callId: o.callId, tenant: o.tenant, channel: o.channel, seq, eventTimeMs: (o.t0 ?? T0) + (i * 1000) / 16000,
      samples: all.slice(i, Math.min(total, i + per)),
    }));
  }
  return out;
}

export { T0, ref, textChunk, videoChunk };

export const segmentsOf = (ev: WindowEvent[]) => ev.flatMap((e) => (e.type === 'segment' ? [e.segment] : []));
export const rejectionsOf = (ev: WindowEvent[]) => ev.flatMap((e) => (e.type === 'rejected' ? [e] : []));
export const releasedOf = (ev: WindowEvent[]) => ev.flatMap((e) => (e.type === 'release' ? e.refs : []));
export const callsOf = (ev: WindowEvent[]) => ev.flatMap((e) => (e.type === 'call' ? [e] : []));

/** Feeds chunks in order, one wall ms apart, collecting every event. */
export function feed(w: { accept(c: MediaChunk, now: number): WindowEvent[] }, chunks: MediaChunk[], now0 = 0): WindowEvent[] {
  const ev: WindowEvent[] = [];
  chunks.forEach((c, i) => ev.push(...w.accept(c, now0 + i)));
  return ev;
}
