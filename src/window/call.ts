/**
 * One call's windowing state: its public CallInfo, its channels' timelines, the sequence trackers
 * of its streams, and its watermark. States only move forward: ACTIVE -> ENDED | TIMED_OUT.
 */
import type { CallInfo, MediaChunk } from '../core/types.js';
import { ChannelTimeline } from './channel.js';
import type { HistoryBudget } from './history.js';
import type { WindowOptions } from './options.js';
import { SeqTracker } from './seq.js';

/** Control seqs remembered per call for duplicate detection (calls send two or three). */
const MAX_CONTROL_SEQS = 16;

export class CallState {
  readonly info: CallInfo;
  readonly channels = new Map<string, ChannelTimeline>();
  readonly streams = new Map<string, SeqTracker<MediaChunk>>();
  private readonly controlSeqs: number[] = [];
  /** Latest media end time delivered (audio/video), ms; drives the watermark. */
  maxEndMs = -Infinity;
  lastActivityWallMs: number;

  constructor(
    callId: string,
    tenant: string,
    startedAtMs: number,
    meta: Record<string, string>,
    /** True when opened by call_start: its streams then start at seq 0. */
    readonly openedByControl: boolean,
    nowWallMs: number,
    private readonly o: WindowOptions,
    private readonly budget: HistoryBudget,
  ) {
    this.info = { callId, tenant, status: 'ACTIVE', startedAtMs, endedAtMs: null, channels: [], segmentCount: 0, meta: { ...meta } };
    this.lastActivityWallMs = nowWallMs;
  }

  /** Latest transcript end delivered, ms: drives the watermark of calls with no media at all. */
  maxTextEndMs = -Infinity;

  /** Unsealed samples and records of all channels, as last counted (the window's open budget). */
  held = { samples: 0, chunks: 0 };

  /** Counts what the channels hold now; returns the change since the last count. */
  recount(): { samples: number; chunks: number } {
    let samples = 0;
    let chunks = 0;
    for (const ch of this.channels.values()) {
      samples += ch.heldSamples;
      chunks += ch.heldChunks;
    }
    const delta = { samples: samples - this.held.samples, chunks: chunks - this.held.chunks };
    this.held = { samples, chunks };
    return delta;
  }

  /** Max media event time seen - allowed lateness, ms. Media before it is CHUNK_TOO_LATE.
   *  Transcripts lag their audio, so they move it only in a call that sends no media. */
  get watermarkMs(): number {
    return (Number.isFinite(this.maxEndMs) ? this.maxEndMs : this.maxTextEndMs) - this.o.allowedLatenessMs;
  }

  channel(name: string): ChannelTimeline {
    let ch = this.channels.get(name);
    if (!ch) {
      ch = new ChannelTimeline(this.info.callId, this.info.tenant, name, this.o, this.budget);
      this.channels.set(name, ch);
      this.info.channels.push(name);
    }
    return ch;
  }

  stream(chunk: MediaChunk): SeqTracker<MediaChunk> {
    const key = `${chunk.channel}\u0000${chunk.modality}`;
    let s = this.streams.get(key);
    if (!s) {
      // A call opened mid-stream (restart, lost call_start) starts at the first seq it sees.
      s = new SeqTracker<MediaChunk>(this.openedByControl ? 0 : chunk.seq, this.o.reorderWindow);
      this.streams.set(key, s);
    }
    return s;
  }

  /** Records a control seq; false when it was seen already (a duplicate). */
  noteControlSeq(seq: number): boolean {
    if (this.controlSeqs.includes(seq)) return false;
    this.controlSeqs.push(seq);
    if (this.controlSeqs.length > MAX_CONTROL_SEQS) this.controlSeqs.shift();
    return true;
  }

  /** A copy safe to hand to other stages. */
  snapshot(): CallInfo {
    return { ...this.info, channels: [...this.info.channels], meta: { ...this.info.meta } };
  }
}
