/**
 * One (call, channel) timeline: the unsealed audio, transcript pieces and video frames after the
 * cursor (everything before it is sealed or released), and the rules that cut it into segments.
 *
 * Cutting, applied from the cursor up to a horizon (watermark - transcriptWait; infinite at call
 * end), one interval at a time:
 * 1. Transcripts lead where they exist: an utterance (pieces up to one marked final) becomes one
 *    segment, from the cursor (leading speech included) to the utterance's end.
 * 2. Otherwise speech leads: a VAD speech interval (padded) becomes one segment; speech-only
 *    remainders shorter than minSegmentMs are released without a segment.
 * 3. A channel with neither audio nor transcripts (video only) is cut in fixed windows.
 * 4. Anything longer than maxSegmentMs is cut at maxSegmentMs.
 * 5. Stretches with no speech and no text are released without a segment (their chunk refs are
 *    returned for release).
 * A chunk's ref goes with the interval that holds its end: exactly once, segment or release.
 */
import { AppError } from '../core/errors.js';
import type { AudioChunk, ChunkSourceRef, Segment, TextChunk, VideoChunk } from '../core/types.js';
import { AudioTrack } from './audio-track.js';
import { ChannelHistory, type HistoryBudget, type TranscriptPart, transcriptOf } from './history.js';
import type { WindowOptions } from './options.js';
import { measureTalk } from './talk.js';

/** A transcript piece waiting for its segment. `refs`: its record, and those of the earlier
 *  pieces of the same utterance id it replaced (released with it). */
interface PendingText { startMs: number; endMs: number; text: string; final: boolean; id?: string; refs: ChunkSourceRef[] }
interface PendingVideo { startMs: number; endMs: number; fps: number; featureDim: number; frames: Float32Array; ref?: ChunkSourceRef }
interface PendingRef { endMs: number; ref: ChunkSourceRef }
interface Utterance { startMs: number; endMs: number; final: boolean }
interface Speech { startMs: number; endMs: number; closed: boolean }
type Step = { kind: 'segment' | 'release'; endMs: number };

/** What sealing produced. */
export interface SealResult {
  segments: Segment[];
  released: ChunkSourceRef[];
}

/** Tolerance when comparing event times, ms (timestamps are integers; audio ends may not be). */
const EPS = 0.5;

export class ChannelTimeline {
  /** Everything before this event time is sealed or released; null until the first chunk. */
  cursorMs: number | null = null;
  /** Index of the next segment. */
  nextIndex = 0;
  /** Newest audio/video end delivered on this channel, ms: its own watermark (Windower.watermarkOf). */
  maxMediaEndMs = -Infinity;
  private audio: AudioTrack | null = null;
  private texts: PendingText[] = [];
  private videos: PendingVideo[] = [];
  private audioRefs: PendingRef[] = [];
  private dataEndMs = -Infinity;
  private featureDim: number | null = null;
  readonly history: ChannelHistory;

  constructor(
    readonly callId: string,
    readonly tenant: string,
    readonly channel: string,
    private readonly o: WindowOptions,
    budget: HistoryBudget,
  ) {
    this.history = new ChannelHistory(o.historySize, budget);
  }

  /** Unsealed event time held, ms (for the maxBufferedMs bound). */
  get bufferedMs(): number {
    return this.cursorMs === null ? 0 : Math.max(0, this.dataEndMs - this.cursorMs);
  }

  get pendingTexts(): number {
    return this.texts.length;
  }

  /** Memory of the unsealed media: the audio buffer's room (the samples it holds and the space
   *  not reclaimed yet) plus video floats (the window's maxOpenSamples bound). */
  get heldSamples(): number {
    let n = this.audio?.capacitySamples ?? 0;
    for (const v of this.videos) n += v.frames.length;
    return n;
  }

  /** Gives back buffer room beyond what is held (after an early seal). */
  trim(): void {
    this.audio?.trim();
  }

  /** Unsealed records held, whose refs wait for a seal (the window's maxOpenChunks bound). */
  get heldChunks(): number {
    // A transcript piece holds the refs of the interim pieces it replaced too (maxOpenChunks bounds them).
    let texts = 0;
    for (const t of this.texts) texts += t.refs.length;
    return this.audioRefs.length + texts + this.videos.length;
  }

  /** The first chunk fixes the cursor, one lateness before it so slightly earlier media still fits. */
  private start(ms: number): void {
    if (this.cursorMs === null) this.cursorMs = ms - this.o.allowedLatenessMs;
  }

  /** True when media at [startMs, ...) lands in sealed time. */
  isSealed(startMs: number): boolean {
    return this.cursorMs !== null && startMs < this.cursorMs - EPS;
  }

  /** Adds audio. Returns what a discontinuity (gap > maxGapMs) forced to seal first. */
  addAudio(c: AudioChunk, nowWallMs: number): SealResult | null {
    this.start(c.eventTimeMs);
    let forced: SealResult | null = null;
    if (!this.audio) this.audio = new AudioTrack(this.o.sampleRate, c.eventTimeMs, this.o.vad, this.o.maxGapMs);
    if (!this.audio.append(c.eventTimeMs, c.samples)) {
      // Long silence with no chunks (a muted producer): seal up to the old end and start afresh.
      forced = this.seal(this.audio.endMs, true, nowWallMs);
      this.audio.restart(c.eventTimeMs);
      this.audio.append(c.eventTimeMs, c.samples);
    }
    this.note(c);
    return forced;
  }

  private note(c: AudioChunk): void {
    const end = c.eventTimeMs + c.durationMs;
    this.dataEndMs = Math.max(this.dataEndMs, end);
    if (c.source) this.audioRefs.push({ endMs: end, ref: c.source });
  }

  /**
   * Adds an unsealed transcript piece (the caller sends sealed-time pieces to `revise`). A piece
   * with the utterance id of a pending one replaces it (an ASR's cumulative interim results: the
   * later text already holds the earlier words), spanning both.
   */
  addText(c: TextChunk): AppError | null {
    const prev = c.utteranceId === undefined ? -1 : this.texts.findIndex((t) => t.id === c.utteranceId);
    if (prev < 0 && this.texts.length >= this.o.maxPendingText) {
      return new AppError('WINDOW_BUFFER_FULL', { what: 'transcript', callId: this.callId, channel: this.channel, limit: this.o.maxPendingText });
    }
    this.start(c.eventTimeMs);
    let startMs = Math.max(c.eventTimeMs, this.cursorMs!);
    let endMs = Math.max(startMs, c.eventTimeMs + c.durationMs);
    const refs = c.source ? [c.source] : [];
    if (prev >= 0) {
      const [old] = this.texts.splice(prev, 1);
      startMs = Math.min(startMs, old.startMs);
      endMs = Math.max(endMs, old.endMs);
      refs.unshift(...old.refs);
    }
    const piece: PendingText = { startMs, endMs, text: c.text, final: c.final, id: c.utteranceId, refs };
    let i = this.texts.length;
    while (i > 0 && this.texts[i - 1].startMs > piece.startMs) i--;
    this.texts.splice(i, 0, piece);
    this.dataEndMs = Math.max(this.dataEndMs, piece.endMs);
    return null;
  }

  /** True when a transcript piece belongs to sealed time (its middle is before the cursor), or
   *  continues an utterance (same id) whose earlier piece is in a sealed segment already. */
  isLateText(c: TextChunk): boolean {
    if (c.utteranceId !== undefined && !this.texts.some((t) => t.id === c.utteranceId) && this.history.findUtterance(c.utteranceId)) return true;
    return this.cursorMs !== null && c.eventTimeMs + c.durationMs / 2 < this.cursorMs;
  }

  addVideo(c: VideoChunk): AppError | null {
    if (this.featureDim !== null && c.featureDim !== this.featureDim) {
      return new AppError('CHUNK_BAD_PAYLOAD', { reason: `featureDim ${c.featureDim} differs from this channel's ${this.featureDim}` });
    }
    this.featureDim = c.featureDim;
    this.start(c.eventTimeMs);
    const endMs = c.eventTimeMs + c.durationMs;
    this.videos.push({ startMs: c.eventTimeMs, endMs, fps: c.fps, featureDim: c.featureDim, frames: c.frames, ref: c.source });
    this.dataEndMs = Math.max(this.dataEndMs, endMs);
    return null;
  }

  /**
   * A late transcript piece on a sealed segment: the segment again, revision + 1, with the text
   * added, or, for a piece of an utterance id the segment holds, that utterance's text replaced.
   * Null when no kept segment holds the id or overlaps the piece (the caller rejects it CHUNK_TOO_LATE).
   */
  revise(c: TextChunk, nowWallMs: number): Segment | null {
    const byId = c.utteranceId === undefined ? null : this.history.findUtterance(c.utteranceId);
    const entry = byId ?? this.history.find(c.eventTimeMs, c.eventTimeMs + c.durationMs);
    if (!entry) return null;
    const part: TranscriptPart = { id: c.utteranceId ?? null, text: c.text };
    const at = byId ? entry.parts.findIndex((p) => p.id === c.utteranceId) : -1;
    entry.parts = at >= 0 ? entry.parts.map((p, k) => (k === at ? part : p)) : [...entry.parts, part];
    const prev = entry.segment;
    const { text, utteranceIds } = transcriptOf(entry.parts);
    const segment: Segment = {
      ...prev,
      revision: prev.revision + 1,
      text,
      utteranceIds,
      sources: c.source ? [c.source] : [],
      sealedAtWallMs: nowWallMs,
    };
    entry.segment = segment;
    return segment;
  }

  /**
   * Seals what the horizon allows. `forced`: utterances count as complete and speech as ended
   * (call end, buffer pressure, discontinuity). `cutAtLimit` (the window's open budget): speech
   * or an utterance still going on at the horizon is cut there too.
   */
  seal(horizonMs: number, forced: boolean, nowWallMs: number, cutAtLimit = false): SealResult {
    const out: SealResult = { segments: [], released: [] };
    if (this.cursorMs === null) return out;
    const plan = () => this.plan(this.cursorMs!, horizonMs, forced, cutAtLimit);
    for (let step = plan(); step; step = plan()) {
      this.cut(step, nowWallMs, out);
    }
    return out;
  }

  /** Seals everything (call end, timeout, shutdown) and releases whatever made no segment. */
  close(nowWallMs: number): SealResult {
    this.audio?.vad.finish();
    const out = this.seal(Infinity, true, nowWallMs);
    out.released.push(...this.audioRefs.map((r) => r.ref));
    for (const t of this.texts) out.released.push(...t.refs);
    for (const v of this.videos) if (v.ref) out.released.push(v.ref);
    this.audioRefs = [];
    this.texts = [];
    this.videos = [];
    this.audio = null;
    return out;
  }

  private firstUtterance(): Utterance | null {
    if (!this.texts.length) return null;
    let startMs = Infinity;
    let endMs = -Infinity;
    for (const t of this.texts) {
      startMs = Math.min(startMs, t.startMs);
      endMs = Math.max(endMs, t.endMs);
      if (t.final) return { startMs, endMs, final: true };
    }
    return { startMs, endMs, final: false };
  }

  private firstSpeech(c: number): Speech | null {
    if (!this.audio) return null;
    const vad = this.audio.vad;
    for (const s of vad.closed) if (s.endMs > c + EPS) return { ...s, closed: true };
    const open = vad.open();
    return open && open.endMs > c + EPS ? { ...open, closed: false } : null;
  }

  private plan(c: number, horizonMs: number, forced: boolean, cutAtLimit: boolean): Step | null {
    const o = this.o;
    const limit = Math.min(horizonMs, this.dataEndMs);
    if (limit <= c + EPS) return null;
    const u = this.firstUtterance();
    if (!this.audio && !u) {
      // Video only (or nothing): fixed windows from the first frame on.
      if (!this.videos.length) return { kind: 'release', endMs: limit };
      const first = this.videos[0].startMs;
      if (first > c + EPS) return { kind: 'release', endMs: Math.min(first, limit) };
      if (c + o.fixedWindowMs <= limit) return { kind: 'segment', endMs: c + o.fixedWindowMs };
      return forced ? { kind: 'segment', endMs: limit } : null;
    }
    const sp = this.firstSpeech(c);
    const uStart = u ? Math.max(u.startMs, c) : Infinity;
    const spStart = sp ? Math.max(sp.startMs, c) : Infinity;
    const next = Math.min(uStart, spStart);
    if (next > c + EPS) {
      // Nothing to say until `next`: release that stretch (only as far as the VAD is sure).
      let until = Math.min(next, limit);
      if (next === Infinity && this.audio && !forced) until = Math.min(until, this.audio.vad.settledMs());
      return until > c + EPS ? { kind: 'release', endMs: until } : null;
    }
    const maxEnd = c + o.maxSegmentMs;
    if (u && (uStart <= c + EPS || (sp && u.startMs < sp.endMs))) {
      const complete = u.final || forced || horizonMs >= u.endMs + o.utteranceTimeoutMs;
      if (complete && u.endMs <= limit + EPS) return { kind: 'segment', endMs: Math.min(u.endMs, maxEnd) };
      return this.cutOpen(c, limit, maxEnd, cutAtLimit);
    }
    const s = sp!;
    const ended = s.closed || forced || horizonMs >= s.endMs;
    if (ended && s.endMs <= limit + EPS) {
      if (s.endMs - c < o.minSegmentMs) return { kind: 'release', endMs: s.endMs };
      return { kind: 'segment', endMs: Math.min(s.endMs, maxEnd) };
    }
    return this.cutOpen(c, limit, maxEnd, cutAtLimit);
  }

  /**
   * Speech or an utterance still open at the limit: cut at maxSegmentMs when it fits; with
   * `cutAtLimit` also at the limit, unless that makes less than minSegmentMs (kept for the next
   * seal rather than released without a segment).
   */
  private cutOpen(c: number, limit: number, maxEnd: number, cutAtLimit: boolean): Step | null {
    if (maxEnd <= limit) return { kind: 'segment', endMs: maxEnd };
    return cutAtLimit && limit - c >= this.o.minSegmentMs ? { kind: 'segment', endMs: limit } : null;
  }

  /** Takes [cursor, step.endMs) off the timeline as a segment or a release. */
  private cut(step: Step, nowWallMs: number, out: SealResult): void {
    const a = this.cursorMs!;
    const b = step.endMs;
    const refs: ChunkSourceRef[] = [];
    let k = 0;
    while (k < this.audioRefs.length && this.audioRefs[k].endMs <= b + EPS) refs.push(this.audioRefs[k++].ref);
    this.audioRefs.splice(0, k);

    const taken = this.texts.filter((t) => (t.startMs + t.endMs) / 2 < b);
    this.texts = this.texts.filter((t) => (t.startMs + t.endMs) / 2 >= b);
    for (const t of taken) refs.push(...t.refs);

    const { video, frames } = this.takeVideo(a, b, refs);
    const audio = this.audio?.slice(a, b, Math.round((this.o.maxSegmentMs * this.o.sampleRate) / 1000)) ?? null;
    const parts: TranscriptPart[] = taken.map((t) => ({ id: t.id ?? null, text: t.text }));
    const { text, utteranceIds } = transcriptOf(parts);
    const isSegment = step.kind === 'segment' && (audio || text || video);
    // Measured before the VAD forgets the intervals that end inside [a, b); releases need none.
    const talk = isSegment && audio && this.audio ? measureTalk(this.audio, a, b) : null;

    this.cursorMs = b;
    this.audio?.discardBefore(b);
    this.audio?.vad.dropBefore(b);

    if (!isSegment) {
      out.released.push(...refs);
      return;
    }
    const segment: Segment = {
      callId: this.callId, tenant: this.tenant, channel: this.channel, index: this.nextIndex++, revision: 0,
      startMs: a, endMs: b, audio, text, video, videoFrames: frames, sources: refs, sealedAtWallMs: nowWallMs,
      utteranceIds, talk,
    };
    this.history.add(segment, parts);
    out.segments.push(segment);
  }

  /** Frames with event time in [a, b), evenly subsampled to maxVideoFrames; fully used chunks leave. */
  private takeVideo(a: number, b: number, refs: ChunkSourceRef[]): { video: Float32Array | null; frames: number } {
    const rows: Float32Array[] = [];
    const keep: PendingVideo[] = [];
    for (const v of this.videos) {
      const n = v.frames.length / v.featureDim;
      for (let i = 0; i < n; i++) {
        const t = v.startMs + (i * 1000) / v.fps;
        if (t >= a - EPS && t < b - EPS) rows.push(v.frames.subarray(i * v.featureDim, (i + 1) * v.featureDim));
      }
      if (v.endMs <= b + EPS) {
        if (v.ref) refs.push(v.ref);
      } else keep.push(v);
    }
    this.videos = keep;
    if (!rows.length) return { video: null, frames: 0 };
    const count = Math.min(rows.length, this.o.maxVideoFrames);
    const dim = rows[0].length;
    const video = new Float32Array(count * dim);
    for (let j = 0; j < count; j++) video.set(rows[Math.floor((j * rows.length) / count)], j * dim);
    return { video, frames: count };
  }
}
