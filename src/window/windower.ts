/**
 * The window stage: MediaChunks in, events out. Pure logic: no timers, no I/O; the wall clock is
 * passed in (`nowWallMs`), so tests are deterministic and the pipeline owns the ticker.
 *
 *   accept(chunk, now) -> events   a chunk: call checks, seq/reorder, lateness, then sealing
 *   tick(now, hold)    -> events   idle timeouts (held while the source reads a backlog), expiry of closed calls
 *   flush(now)         -> events   shutdown: seals every open call (they stay ACTIVE)
 *
 * Events: `segment` (sealed, or a revision), `call` (opened, updated, ended, timed out),
 * `rejected` (a chunk with its AppError; the pipeline dead-letters and releases it), `release`
 * (refs of chunks that made no segment: silence, control records, forced releases).
 * Every chunk accepted without rejection has its ref in exactly one `segment` or `release` event.
 */
import { AppError } from '../core/errors.js';
import { type CallInfo, callKey, type ChunkSourceRef, type ControlChunk, type MediaChunk, type Segment } from '../core/types.js';
import { CallState } from './call.js';
import type { ChannelTimeline, SealResult } from './channel.js';
import { HistoryBudget } from './history.js';
import { resolveWindowOptions, type WindowOptions, type WindowOptionsInput } from './options.js';

export type WindowEvent =
  | { type: 'segment'; segment: Segment }
  /** `error` is set when the call was closed by CALL_IDLE_TIMEOUT. */
  | { type: 'call'; call: CallInfo; error?: AppError }
  | { type: 'rejected'; chunk: MediaChunk; error: AppError }
  | { type: 'release'; refs: ChunkSourceRef[] };

interface ClosedCall {
  call: CallState;
  closedAtWallMs: number;
}

const EPS = 0.5;


export class Windower {
  readonly options: WindowOptions;
  /** Open calls, least recently active first (re-inserted on activity). */
  private readonly open = new Map<string, CallState>();
  /** Recently closed calls, oldest first: late transcripts still revise their segments. */
  private readonly closed = new Map<string, ClosedCall>();
  /** Ids of closed calls past their grace (history freed), oldest first: stray chunks for them
   *  are CHUNK_UNKNOWN_CALL instead of opening a ghost call. Bounded by maxClosedCalls. */
  private readonly tombstones = new Set<string>();
  private readonly budget: HistoryBudget;
  /** Unsealed samples and records of all open calls (sum of their last counts). */
  private readonly held = { samples: 0, chunks: 0 };
  /** Calls sealed early by the open budget since `takeEarlySealed` (callKeys): their cuts depend
   *  on other calls too, so a hand-over replay would not reproduce them. */
  private readonly sealedEarly = new Set<string>();

  constructor(options: WindowOptionsInput = {}) {
    this.options = resolveWindowOptions(options);
    this.budget = new HistoryBudget(this.options.historyBudget);
  }

  accept(chunk: MediaChunk, nowWallMs: number): WindowEvent[] {
    const ev: WindowEvent[] = [];
    if (chunk.modality === 'control') {
      this.control(chunk, nowWallMs, ev);
      return ev;
    }
    const key = callKey(chunk.tenant, chunk.callId);
    let call = this.open.get(key);
    if (!call) {
      const gone = this.closed.get(key);
      if (gone && chunk.modality === 'text') {
        this.lateText(gone.call, chunk, nowWallMs, ev);
        return ev;
      }
      if (gone || this.tombstones.has(key) || !this.options.autoOpenCalls) return reject(ev, chunk, new AppError('CHUNK_UNKNOWN_CALL', { callId: chunk.callId }));
      call = this.openCall(chunk.callId, chunk.tenant, chunk.eventTimeMs, {}, false, nowWallMs, ev, { channel: chunk.channel });
    }
    if (!call.channels.has(chunk.channel) && call.channels.size >= this.options.maxChannelsPerCall) {
      return reject(ev, chunk, new AppError('WINDOW_BUFFER_FULL', { what: 'channel', callId: chunk.callId, channel: chunk.channel, limit: this.options.maxChannelsPerCall }));
    }
    if (chunk.modality === 'audio' && chunk.sampleRate !== this.options.sampleRate) {
      return reject(ev, chunk, new AppError('CHUNK_BAD_SAMPLE_RATE', { rate: chunk.sampleRate }));
    }
    const budget = this.workOf(chunk);
    if (budget) return reject(ev, chunk, budget);
    this.touch(call, nowWallMs);
    const { deliver, error } = call.stream(chunk).offer(chunk);
    if (error) reject(ev, chunk, error);
    for (const c of deliver) this.deliver(call, c, nowWallMs, ev);
    this.sealCall(call, nowWallMs, ev);
    this.recount(call);
    this.enforceOpenBudget(nowWallMs, ev);
    return ev;
  }

  /**
   * `holdIdle`: the source is reading a backlog of this window's partition, so a call's next
   * chunks may be in it however long ago its last one was read (replay is slower than real time):
   * no call is timed out meanwhile; once caught up, one that sent nothing is.
   */
  tick(nowWallMs: number, holdIdle = false): WindowEvent[] {
    const ev: WindowEvent[] = [];
    const idle: CallState[] = [];
    for (const call of holdIdle ? [] : this.open.values()) {
      if (nowWallMs - call.lastActivityWallMs < this.options.idleTimeoutMs) break; // LRU order
      idle.push(call);
    }
    for (const call of idle) this.timeOut(call, nowWallMs, ev);
    for (const [id, c] of this.closed) {
      if (nowWallMs - c.closedAtWallMs < this.options.lateTextGraceMs) break;
      this.forget(id, c);
    }
    return ev;
  }

  flush(nowWallMs: number): WindowEvent[] {
    const ev: WindowEvent[] = [];
    for (const call of [...this.open.values()]) this.closeCall(call, 'ACTIVE', nowWallMs, ev);
    return ev;
  }

  /** Counts for metrics and tests. */
  stats(): { openCalls: number; closedCalls: number; historyHeld: number; openSamples: number; openChunks: number } {
    return { openCalls: this.open.size, closedCalls: this.closed.size, historyHeld: this.budget.held, openSamples: this.held.samples, openChunks: this.held.chunks };
  }

  /** Calls (callKeys) the open budget sealed early since the last call; clears the list. */
  takeEarlySealed(): string[] {
    if (this.sealedEarly.size === 0) return [];
    const out = [...this.sealedEarly];
    this.sealedEarly.clear();
    return out;
  }

  /** The public state of an open or recently closed call. */
  call(tenant: string, callId: string): CallInfo | null {
    const key = callKey(tenant, callId);
    return (this.open.get(key) ?? this.closed.get(key)?.call)?.snapshot() ?? null;
  }

  /**
   * The work budget: a chunk's span costs about one cutting step per `min(maxSegmentMs,
   * fixedWindowMs)` when it is sealed, all in one synchronous call. A chunk that would cost more
   * than `maxStepsPerChunk` is refused before it changes any state, so no record, however
   * well-formed, can hold the event loop (the decoder's contract bounds keep real records far
   * below this; the budget also covers chunks that reach the window another way).
   */
  private workOf(c: MediaChunk): AppError | null {
    const stepMs = Math.min(this.options.maxSegmentMs, this.options.fixedWindowMs);
    const steps = Math.ceil(c.durationMs / stepMs);
    if (Number.isFinite(c.durationMs) && c.durationMs >= 0 && steps <= this.options.maxStepsPerChunk) return null;
    return new AppError('WINDOW_WORK_BUDGET', { modality: c.modality, spanMs: c.durationMs, steps, budget: this.options.maxStepsPerChunk });
  }

  private control(c: ControlChunk, now: number, ev: WindowEvent[]): void {
    const key = callKey(c.tenant, c.callId);
    const call = this.open.get(key);
    if (!call && (this.closed.has(key) || this.tombstones.has(key))) {
      reject(ev, c, new AppError('CHUNK_UNKNOWN_CALL', { callId: c.callId }));
      return;
    }
    if (c.kind === 'call_start') {
      if (call) {
        if (!call.noteControlSeq(c.seq)) return void reject(ev, c, dup(c));
        // Auto-opened earlier (its call_start came late): keep it, add what call_start says.
        Object.assign(call.info.meta, c.meta ?? {});
        if (c.displayName) call.info.displayName = c.displayName;
        call.info.startedAtMs = Math.min(call.info.startedAtMs, c.eventTimeMs);
        this.touch(call, now);
        ev.push({ type: 'call', call: call.snapshot() });
      } else {
        this.openCall(c.callId, c.tenant, c.eventTimeMs, c.meta ?? {}, true, now, ev, { displayName: c.displayName }).noteControlSeq(c.seq);
      }
      if (c.source) ev.push({ type: 'release', refs: [c.source] });
      return;
    }
    if (!call) return void reject(ev, c, new AppError('CHUNK_UNKNOWN_CALL', { callId: c.callId }));
    if (!call.noteControlSeq(c.seq)) return void reject(ev, c, dup(c));
    call.info.endedAtMs = Math.max(c.eventTimeMs, Number.isFinite(call.maxEndMs) ? call.maxEndMs : c.eventTimeMs);
    this.closeCall(call, 'ENDED', now, ev);
    if (c.source) ev.push({ type: 'release', refs: [c.source] });
  }

  /** `opener.channel`: of the media chunk that opens the call, listed first in the call's
   *  channels (so the stored call names its opener: a hand-over replay recognises that chunk,
   *  opensCall). `opener.displayName`: sent by the producer with call_start. */
  private openCall(callId: string, tenant: string, startedAtMs: number, meta: Record<string, string>, byControl: boolean, now: number, ev: WindowEvent[], opener: { channel?: string; displayName?: string } = {}): CallState {
    if (this.open.size >= this.options.maxOpenCalls) {
      // Policy evict-idlest: the least recently active call makes room.
      const idlest = this.open.values().next().value as CallState;
      this.timeOut(idlest, now, ev);
    }
    const call = new CallState(callId, tenant, startedAtMs, meta, byControl, now, this.options, this.budget);
    if (opener.displayName) call.info.displayName = opener.displayName;
    if (opener.channel !== undefined) call.channel(opener.channel);
    this.open.set(callKey(tenant, callId), call);
    ev.push({ type: 'call', call: call.snapshot() });
    return call;
  }

  private touch(call: CallState, now: number): void {
    call.lastActivityWallMs = now;
    const key = callKey(call.info.tenant, call.info.callId);
    this.open.delete(key);
    this.open.set(key, call);
  }

  private deliver(call: CallState, c: MediaChunk, now: number, ev: WindowEvent[]): void {
    const ch = call.channel(c.channel);
    if (c.modality === 'text') {
      if (ch.isLateText(c)) return this.lateText(call, c, now, ev);
      const err = ch.addText(c);
      if (err) return void reject(ev, c, err);
      call.maxTextEndMs = Math.max(call.maxTextEndMs, c.eventTimeMs + c.durationMs);
      return;
    }
    if (c.modality === 'control') return;
    // Too late: it ends behind the watermark, or it starts in time already sealed.
    const wm = this.watermarkOf(call, ch);
    if (c.eventTimeMs + c.durationMs < wm - EPS || ch.isSealed(c.eventTimeMs)) {
      const watermarkMs = Math.max(wm, ch.cursorMs ?? -Infinity);
      return void reject(ev, c, new AppError('CHUNK_TOO_LATE', { eventTimeMs: c.eventTimeMs, watermarkMs }));
    }
    if (c.modality === 'audio') {
      const forced = ch.addAudio(c, now);
      if (forced) this.emit(call, forced, ev);
    } else {
      const err = ch.addVideo(c);
      if (err) return void reject(ev, c, err);
    }
    call.maxEndMs = Math.max(call.maxEndMs, c.eventTimeMs + c.durationMs);
    ch.maxMediaEndMs = Math.max(ch.maxMediaEndMs, c.eventTimeMs + c.durationMs);
  }

  /**
   * The watermark of one channel: its own newest media end, but never more than
   * `maxChannelSkewMs` behind the call's newest media end, minus `allowedLatenessMs`. Per channel,
   * because the legs of a call arrive through separate pipes: an agent leg 1.5 s behind the
   * customer leg lost all its audio to a call-wide watermark (issue 13). A channel with no media
   * of its own, or a leg lagging more than the skew, follows the call; a call with no media at
   * all follows its transcripts (CallState.watermarkMs).
   */
  private watermarkOf(call: CallState, ch: ChannelTimeline): number {
    if (!Number.isFinite(call.maxEndMs)) return call.watermarkMs;
    return Math.max(ch.maxMediaEndMs, call.maxEndMs - this.options.maxChannelSkewMs) - this.options.allowedLatenessMs;
  }

  private lateText(call: CallState, c: MediaChunk & { modality: 'text' }, now: number, ev: WindowEvent[]): void {
    const ch = call.channels.get(c.channel);
    const segment = ch?.revise(c, now) ?? null;
    if (segment) ev.push({ type: 'segment', segment });
    else reject(ev, c, new AppError('CHUNK_TOO_LATE', { eventTimeMs: c.eventTimeMs, watermarkMs: ch?.cursorMs ?? call.watermarkMs }));
  }

  /** Seals what the watermark allows on every channel; force-seals channels over maxBufferedMs. */
  private sealCall(call: CallState, now: number, ev: WindowEvent[]): void {
    for (const ch of call.channels.values()) {
      const horizon = this.watermarkOf(call, ch) - this.options.transcriptWaitMs;
      if (ch.bufferedMs > this.options.maxBufferedMs) {
        // Policy force-seal: the oldest half goes without waiting for the watermark.
        this.emit(call, ch.seal(ch.cursorMs! + this.options.maxBufferedMs / 2, true, now), ev);
      }
      this.emit(call, ch.seal(horizon, false, now), ev);
    }
  }

  private recount(call: CallState): void {
    const d = call.recount();
    this.held.samples += d.samples;
    this.held.chunks += d.chunks;
  }

  /**
   * Policy seal-largest (maxOpenSamples, maxOpenChunks): while open calls together hold more,
   * the call holding the most is sealed up to its watermark, where no later chunk may land,
   * without waiting for transcripts (late ones revise), so its records are released once scored;
   * its audio buffers then give back their spare room (samples count as buffer room held).
   * A call with nothing sealable is passed over: what no seal may take from a channel is its
   * allowed lateness, plus less than minSegmentMs (not cut off alone), plus one chunk.
   */
  private enforceOpenBudget(now: number, ev: WindowEvent[]): void {
    const o = this.options;
    const passed = new Set<CallState>();
    while (this.held.samples > o.maxOpenSamples || this.held.chunks > o.maxOpenChunks) {
      const by: 'samples' | 'chunks' = this.held.samples > o.maxOpenSamples ? 'samples' : 'chunks';
      let largest: CallState | null = null;
      for (const c of this.open.values()) {
        if (!passed.has(c) && c.held[by] > (largest?.held[by] ?? 0)) largest = c;
      }
      if (!largest) return;
      const before = largest.held[by];
      this.sealedEarly.add(callKey(largest.info.tenant, largest.info.callId));
      for (const ch of largest.channels.values()) {
        this.emit(largest, ch.seal(largest.watermarkMs, false, now, true), ev);
        ch.trim();
      }
      this.recount(largest);
      if (largest.held[by] >= before) passed.add(largest);
    }
  }

  private emit(call: CallState, r: SealResult, ev: WindowEvent[]): void {
    for (const segment of r.segments) ev.push({ type: 'segment', segment });
    call.info.segmentCount += r.segments.length;
    if (r.released.length) ev.push({ type: 'release', refs: r.released });
  }

  private timeOut(call: CallState, now: number, ev: WindowEvent[]): void {
    const idleMs = now - call.lastActivityWallMs;
    call.info.endedAtMs = Number.isFinite(call.maxEndMs) ? call.maxEndMs : call.info.startedAtMs;
    this.closeCall(call, 'TIMED_OUT', now, ev, new AppError('CALL_IDLE_TIMEOUT', { callId: call.info.callId, idleMs }));
  }

  /** Delivers held chunks, seals every channel, and moves the call to `closed` (unless shutdown). */
  private closeCall(call: CallState, status: CallInfo['status'], now: number, ev: WindowEvent[], error?: AppError): void {
    for (const s of call.streams.values()) for (const c of s.flush()) this.deliver(call, c, now, ev);
    for (const ch of call.channels.values()) this.emit(call, ch.close(now), ev);
    this.recount(call);
    call.info.status = status;
    ev.push(error ? { type: 'call', call: call.snapshot(), error } : { type: 'call', call: call.snapshot() });
    const key = callKey(call.info.tenant, call.info.callId);
    this.open.delete(key);
    if (status === 'ACTIVE') return;
    this.tombstones.delete(key);
    this.closed.set(key, { call, closedAtWallMs: now });
    if (this.closed.size > this.options.maxClosedCalls) {
      const [id, oldest] = this.closed.entries().next().value as [string, ClosedCall];
      this.forget(id, oldest);
    }
  }

  private forget(id: string, c: ClosedCall): void {
    for (const ch of c.call.channels.values()) ch.history.clear();
    this.closed.delete(id);
    this.tombstones.add(id);
    if (this.tombstones.size > this.options.maxClosedCalls) this.tombstones.delete(this.tombstones.values().next().value as string);
  }
}

function reject(ev: WindowEvent[], chunk: MediaChunk, error: AppError): WindowEvent[] {
  ev.push({ type: 'rejected', chunk, error });
  return ev;
}

function dup(c: ControlChunk): AppError {
  return new AppError('CHUNK_DUPLICATE', { seq: c.seq, callId: c.callId, channel: c.channel, modality: c.modality });
}
