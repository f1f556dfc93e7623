/**
 * Energy-based voice activity detection with a noise floor and hangover, run incrementally over a
 * channel's contiguous audio. It decides where speech-driven segments start and end when a channel
 * has no transcripts.
 *
 * Per frame (default 20 ms): energy in dBFS. A frame is speech when it is louder than
 * max(minDb, noiseFloor + marginDb), where the noise floor is the quietest frame of the last
 * `noiseWindowMs` (minimum statistics): steady line noise raises the threshold, speech does not,
 * because the pauses between words keep the minimum down. Speech starts after `minSpeechMs` of
 * speech frames (clicks are ignored) and ends after `hangoverMs` of non-speech (pauses between
 * words stay inside); each interval is widened by `padMs` on both sides so onsets and tails are
 * not clipped. Frames louder than `loudDb` are speech whatever the floor, so speech in the very
 * first frames of a stream (no quieter frame seen yet) is not missed; the cost is that line noise
 * louder than that counts as speech (segments are then cut at maxSegmentMs).
 *
 * Talk spans (`talkClosed`, `openTalk`: what talk analytics measure, src/window/talk.ts) are the
 * same speech cut at `talkHangoverMs` of silence instead: a segment should hold a speaker's whole
 * turn across its pauses (hangoverMs 800), while talk time, silence, overlaps and interruptions
 * should still see a 400-800 ms pause as a pause. Within a pause the segmentation bridges, speech
 * resumes as a talk span after `minSpeechMs`, as it would from silence.
 */
import type { VadOptions } from './options.js';

export interface SpeechInterval {
  startMs: number;
  endMs: number;
}

export class Vad {
  private readonly frameLen: number;
  private readonly frame: Float32Array;
  private filled = 0;
  /** Event time of the next frame to complete, ms. */
  private frameStartMs: number;
  /** Monotonic deque of (frame number, dB) for the sliding minimum. */
  private readonly minQ: { n: number; db: number }[] = [];
  private frameNo = 0;
  private state: 'silence' | 'candidate' | 'speech' = 'silence';
  private runStartMs = 0;
  private lastSpeechEndMs = 0;
  private silenceMs = 0;
  /** Closed speech intervals not yet consumed, in time order (padded, merged). */
  readonly closed: SpeechInterval[] = [];
  /** Closed talk spans not yet consumed (cut at talkHangoverMs), in time order (padded, merged). */
  readonly talkClosed: SpeechInterval[] = [];
  /** Start of the open talk span, or null: none (silence, or a pause past talkHangoverMs). */
  private talkStartMs: number | null = null;
  /** First speech frame of a run that may resume talk inside a bridged pause, or null. */
  private talkCandidateMs: number | null = null;

  constructor(private readonly o: VadOptions, private readonly rate: number, originMs: number) {
    this.frameLen = Math.round((rate * o.frameMs) / 1000);
    this.frame = new Float32Array(this.frameLen);
    this.frameStartMs = originMs;
  }

  /** Feeds audio that directly follows what came before. */
  push(samples: Float32Array): void {
    let i = 0;
    while (i < samples.length) {
      const take = Math.min(this.frameLen - this.filled, samples.length - i);
      this.frame.set(samples.subarray(i, i + take), this.filled);
      this.filled += take;
      i += take;
      if (this.filled === this.frameLen) {
        this.onFrame();
        this.filled = 0;
      }
    }
  }

  /** Restarts at a new origin (after a discontinuity), closing any open speech. */
  reset(originMs: number): void {
    this.closeOpen(this.frameStartMs);
    this.filled = 0;
    this.frameStartMs = originMs;
    this.state = 'silence';
  }

  /** Speech that has started but not ended: [start, audio analysed so far]. */
  open(): SpeechInterval | null {
    return this.state === 'speech' ? { startMs: this.runStartMs - this.o.padMs, endMs: this.frameStartMs } : null;
  }

  /** The talk span that has started but not ended: [start, audio analysed so far]. */
  openTalk(): SpeechInterval | null {
    return this.state === 'speech' && this.talkStartMs !== null ? { startMs: this.talkStartMs - this.o.padMs, endMs: this.frameStartMs } : null;
  }

  /** Up to here, no speech can start any more: a candidate run may still become speech. */
  settledMs(): number {
    return this.state === 'candidate' ? this.runStartMs - this.o.padMs : this.frameStartMs;
  }

  /** Closes open speech at the end of the audio (call end, forced seal). */
  finish(): void {
    this.closeOpen(this.frameStartMs);
    if (this.state === 'candidate') this.state = 'silence';
  }

  /** Forgets intervals that end at or before `ms` (already sealed). */
  dropBefore(ms: number): void {
    while (this.closed.length && this.closed[0].endMs <= ms) this.closed.shift();
    while (this.talkClosed.length && this.talkClosed[0].endMs <= ms) this.talkClosed.shift();
  }

  private closeOpen(endMs: number): void {
    if (this.state !== 'speech') return;
    this.closeTalk(endMs);
    addInterval(this.closed, this.runStartMs - this.o.padMs, Math.min(endMs, this.lastSpeechEndMs + this.o.padMs));
    this.state = 'silence';
  }

  private closeTalk(endMs: number): void {
    if (this.talkStartMs !== null) addInterval(this.talkClosed, this.talkStartMs - this.o.padMs, Math.min(endMs, this.lastSpeechEndMs + this.o.padMs));
    this.talkStartMs = null;
    this.talkCandidateMs = null;
  }

  private onFrame(): void {
    let sum = 0;
    for (let k = 0; k < this.frameLen; k++) sum += this.frame[k] * this.frame[k];
    const db = 10 * Math.log10(sum / this.frameLen + 1e-12);
    const start = this.frameStartMs;
    const end = start + this.o.frameMs;
    this.frameStartMs = end;
    const n = this.frameNo++;
    const windowFrames = Math.max(1, Math.round(this.o.noiseWindowMs / this.o.frameMs));
    while (this.minQ.length && this.minQ[this.minQ.length - 1].db >= db) this.minQ.pop();
    this.minQ.push({ n, db });
    while (this.minQ[0].n <= n - windowFrames) this.minQ.shift();
    const isSpeech = db > this.o.loudDb || db > Math.max(this.o.minDb, this.minQ[0].db + this.o.marginDb);
    switch (this.state) {
      case 'silence':
        if (isSpeech) {
          this.state = 'candidate';
          this.runStartMs = start;
          this.lastSpeechEndMs = end;
          if (end - start >= this.o.minSpeechMs) {
            this.state = 'speech';
            this.silenceMs = 0;
            this.talkStartMs = start;
          }
        }
        break;
      case 'candidate':
        if (!isSpeech) this.state = 'silence';
        else {
          this.lastSpeechEndMs = end;
          if (end - this.runStartMs >= this.o.minSpeechMs) {
            this.state = 'speech';
            this.silenceMs = 0;
          }
        }
        if (this.state === 'speech') this.talkStartMs = this.runStartMs;
        break;
      case 'speech':
        if (isSpeech) {
          this.lastSpeechEndMs = end;
          this.silenceMs = 0;
          if (this.talkStartMs === null) {
            this.talkCandidateMs ??= start;
            if (end - this.talkCandidateMs >= this.o.minSpeechMs) this.talkStartMs = this.talkCandidateMs;
          }
        } else {
          this.silenceMs += this.o.frameMs;
          this.talkCandidateMs = null;
          if (this.silenceMs >= this.o.talkHangoverMs) this.closeTalk(end);
          if (this.silenceMs >= this.o.hangoverMs) this.closeOpen(end);
        }
        break;
    }
  }
}

/** Appends [startMs, endMs) to time-ordered `list`, merged into the last interval when they touch. */
function addInterval(list: SpeechInterval[], startMs: number, endMs: number): void {
  const last = list[list.length - 1];
  if (last && startMs <= last.endMs) last.endMs = Math.max(last.endMs, endMs);
  else list.push({ startMs, endMs });
}
