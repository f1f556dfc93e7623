/**
 * Talk analytics end to end over the committed fixture fixtures/talk/ (a synthetic two-channel
 * call with known turns, made by scripts/make-talk-fixture.py): the WAV goes through the real
 * decoder (8 kHz records, resampled to 16 kHz) and the real window (VAD), the segments' talk
 * measures through talkAnalytics, and every figure is checked against an independent reference
 * computed here from the fixture's known turns and the WAV's own samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { H } from '../../schema/chunk.js';
import type { RawChunk } from '../../src/core/ports.js';
import type { MediaChunk, Segment } from '../../src/core/types.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { talkAnalytics, type TalkPoint } from '../../src/analytics/talk.js';
import { Windower } from '../../src/window/windower.js';

const DIR = new URL('../../fixtures/talk/', import.meta.url);
interface Turn { channel: string; startMs: number; endMs: number; amplitude: number; text: string | null }
const meta = JSON.parse(readFileSync(new URL('two-channel.json', DIR), 'utf8')) as { sampleRate: number; durationMs: number; channels: string[]; turns: Turn[] };
const T0 = 1_764_000_000_000;
const CHUNK_MS = 100;
/** The VAD's pad on each side of speech (src/window/options.ts DEFAULT_VAD.padMs): part of the definition. */
const PAD_MS = 100;
/** One VAD frame per edge: a turn's onset and offset are found to the nearest 20 ms frame. */
const EDGE_MS = 20;

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

const wav = readWav();

function raw(headers: Record<string, string>, value: Buffer, offset: number): RawChunk {
  return { key: Buffer.from('talk-1'), headers: { [H.version]: '1', [H.tenant]: 'acme', ...headers }, value, source: { topic: 't', partition: 0, offset: String(offset) } };
}

/** The call as a producer streams it: 100 ms audio records of both legs in time order, each
 *  customer turn's transcript (spanning the turn and its tail) 300 ms after the turn ends. */
function records(): RawChunk[] {
  const out: RawChunk[] = [];
  let off = 0;
  out.push(raw({ [H.modality]: 'control', [H.seq]: '0', [H.eventTimeMs]: String(T0) }, Buffer.from('{"kind":"call_start"}'), off++));
  const per = (CHUNK_MS * wav.rate) / 1000;
  const texts = meta.turns.filter((t) => t.text);
  let textSeq = 0;
  for (let i = 0, seq = 0; i * per < wav.channels[0].length; i++, seq++) {
    const tMs = i * CHUNK_MS;
    meta.channels.forEach((ch, c) => {
      const pcm = wav.channels[c].subarray(i * per, (i + 1) * per);
      const value = Buffer.from(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
      out.push(raw({ [H.modality]: 'audio', [H.channel]: ch, [H.seq]: String(seq), [H.eventTimeMs]: String(T0 + tMs), [H.sampleRate]: String(wav.rate) }, value, off++));
    });
    while (texts.length && texts[0].endMs + 300 <= tMs + CHUNK_MS) {
      const t = texts.shift()!;
      out.push(raw({
        [H.modality]: 'text', [H.channel]: t.channel, [H.seq]: String(textSeq), [H.eventTimeMs]: String(T0 + t.startMs),
        [H.durationMs]: String(t.endMs - t.startMs + 150), [H.utteranceId]: `turn-${textSeq++}`,
      }, Buffer.from(t.text!), off++));
    }
  }
  out.push(raw({ [H.modality]: 'control', [H.seq]: '1', [H.eventTimeMs]: String(T0 + meta.durationMs) }, Buffer.from('{"kind":"call_end"}'), off++));
  return out;
}

function windowed(): Segment[] {
  const decode = createDecoder();
  const w = new Windower();
  const segs: Segment[] = [];
  records().forEach((r, i) => {
    for (const ev of w.accept(decode(r) as MediaChunk, i)) {
      assert.notEqual(ev.type, 'rejected', JSON.stringify(ev.type === 'rejected' ? ev.error : null));
      if (ev.type === 'segment') segs.push(ev.segment);
    }
  });
  return segs;
}

const point = (s: Segment): TalkPoint => ({
  channel: s.channel, segmentIndex: s.index, revision: s.revision, valence: 0, textMissing: s.text === null,
  startMs: s.startMs - T0, endMs: s.endMs - T0, text: s.text, recognisedText: null,
  talk: s.talk ? { ...s.talk, speech: s.talk.speech.map(([a, b]): [number, number] => [a - T0, b - T0]) } : null,
});

// ---- the reference: straight from the known turns and the WAV samples ----
type Span = [number, number];
const padded = (ch: string): Span[] => meta.turns.filter((t) => t.channel === ch).map((t) => [t.startMs - PAD_MS, t.endMs + PAD_MS]);
const len = (s: Span[]) => s.reduce((n, [a, b]) => n + b - a, 0);
/** Overlap of two span lists, brute force over the 1 ms grid (the turns are whole ms). */
function overlapMs(a: Span[], b: Span[]): number {
  let n = 0;
  for (let t = 0; t < meta.durationMs; t++) if (a.some(([s, e]) => t >= s && t < e) && b.some(([s, e]) => t >= s && t < e)) n++;
  return n;
}
function levels(c: number, spans: Span[]): { mean: number; peak: number } {
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

test('talk analytics of the fixture call match the reference computed from its known turns and samples', () => {
  const segs = windowed();
  const talk = talkAnalytics(segs.map(point));
  const [cust, agent] = ['customer', 'agent'].map((ch) => talk.channels.find((c) => c.channel === ch)!);
  const turns = (ch: string) => meta.turns.filter((t) => t.channel === ch).length;
  const near = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs reference ${want} (tolerance ${tol})`);

  for (const [c, ch] of [[cust, 'customer'], [agent, 'agent']] as const) {
    near(c.talkTimeMs, len(padded(ch)), 2 * EDGE_MS * turns(ch), `${ch} talk time`);
    const other = padded(ch === 'customer' ? 'agent' : 'customer');
    near(c.overlapMs, overlapMs(padded(ch), other), 2 * EDGE_MS * turns(ch), `${ch} overlap`);
    const interrupts = padded(ch).filter(([s]) => other.some(([a, b]) => s >= a && s < b)).length;
    assert.equal(c.interruptions, interrupts, `${ch} interruptions`);
    const ref = levels(meta.channels.indexOf(ch), padded(ch));
    near(c.meanDbfs!, ref.mean, 0.3, `${ch} mean dBFS`);
    near(c.peakDbfs!, ref.peak, 0.3, `${ch} peak dBFS`);
  }
  // The fixture's shape, so the checks above are not vacuous: each leg cuts in on the other.
  assert.deepEqual([cust.interruptions, agent.interruptions], [1, 2]);

  const all = [...padded('customer'), ...padded('agent')];
  const span = Math.max(...all.map(([, e]) => e)) - Math.min(...all.map(([s]) => s));
  near(talk.spanMs, span, 2 * EDGE_MS + 150, 'span');
  near(talk.overlapMs, overlapMs(padded('customer'), padded('agent')), 2 * EDGE_MS * meta.turns.length, 'call overlap');
  const union = len(padded('customer')) + len(padded('agent')) - overlapMs(padded('customer'), padded('agent'));
  near(talk.nonTalkShare, 1 - union / span, 0.03, 'non-talk share');
  near(cust.silenceShare, 1 - len(padded('customer')) / span, 0.03, 'customer silence share');

  // Speaking rate: the customer's words over the customer's (padded) speech minutes; the agent sent no words.
  const words = meta.turns.filter((t) => t.channel === 'customer').reduce((n, t) => n + t.text!.split(' ').length, 0);
  assert.equal(cust.words, words);
  near(cust.wordsPerMinute!, words / (len(padded('customer')) / 60_000), 3, 'customer words per minute');
  assert.equal(agent.wordsPerMinute, null);
  assert.deepEqual(segs.filter((s) => s.channel === 'customer').map((s) => s.utteranceIds), [['turn-0'], ['turn-1'], ['turn-2']]);
});
