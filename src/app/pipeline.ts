/**
 * The pipeline: the one place where the stages meet. It owns no transport; every part comes in
 * through a port (src/core/ports.ts) or a stage's narrow interface.
 *
 *   source -> ingest (decode; bad: dead-letter + release) -> onChunk -> window
 *     window --Segment--> scorer --> store --> (analytics) --> publisher
 *     window --CallInfo--> store --> publisher
 *
 * Guarantees (docs/lifecycle.md): a chunk is released to its source (Kafka offset committable)
 * only after the score of every segment it fed is stored AND published (handed to the publisher,
 * which for several instances means acknowledged by the scores topic), or after it was
 * dead-lettered; a score is published only after it is stored, and only when the store inserted
 * it (a 'duplicate' is a replay of a published score; a score stored by an instance that died
 * before publishing it is republished by the next owner of its call: src/window/recovery.ts). Segments in flight are bounded (`maxInFlight`): when the
 * bound is reached, `onChunk` waits, which holds the source's batch (backpressure: the Kafka
 * source fetches nothing more, the in-process source blocks its producer; no unbounded queue).
 * That wait (and `prepare`'s store lookup) is all that holds the source, and it ends with work
 * that needs no new chunk (score, store, publish): see docs/lifecycle.md, flow control. Once draining, `onChunk` takes nothing
 * more (SinkStopping): the rest of a batch in flight is left uncommitted for the next owner.
 */
import { KeyedSerial } from '../core/keyed-serial.js';
import type { Logger } from 'pino';
import { type AppError, toAppError } from '../core/errors.js';
import { SinkStopping } from '../core/stopping.js';
import type { FenceToken, RawChunk, Scorer, ScorePublisher, ScoreStore, WindowOutput, WindowStage } from '../core/ports.js';
import { type CallInfo, callKey, type ChunkSourceRef, type MediaChunk, partitionKey, type Segment, type SegmentScore } from '../core/types.js';
import { reencodedRaw } from '../ingest/dead-letter.js';
import { isFenced } from '../store/fencing.js';
import { buildScore, type FlagRule, type Labeler } from '../score/build-score.js';
import type { PipelineMetrics } from './metrics.js';
import { backOff } from '../core/retry.js';

/**
 * Ownership fencing (several instances; src/store/fencing.ts, src/store/ownership.ts). Every
 * store write of a call carries its partition's token; a refused write (STORE_FENCED) is counted,
 * reported once, not retried, and its chunks are not released (the new owner has them).
 */
export interface PipelineFencing {
  /** The token for a write of a call of `partition` ("topic/partition"). undefined: no partition
   *  (in-process source), write unfenced; null: not owned here, do not write. */
  token(partition: string | undefined): Promise<FenceToken | null | undefined>;
  /** The store refused a write made under `token`. */
  fenced(token: FenceToken): void;
  /** Re-reads the held epochs after the process stalled; drops partitions that moved on. */
  verify(): Promise<void>;
}

export interface PipelineOptions {
  window: WindowStage;
  scorer: Scorer;
  store: ScoreStore;
  publisher: ScorePublisher;
  /** Marks chunks finished at their source (ChunkSource.release). */
  release: (refs: ChunkSourceRef[]) => void;
  /** Dead-letters, counts and releases a chunk the window rejected (Ingest.reject). */
  reject: (raw: RawChunk, error: AppError) => Promise<void>;
  /** Called after a score is stored, before it is published (analytics, alert rules). */
  onScored?: (score: SegmentScore) => Promise<void> | void;
  /** Called after a call update is stored, before it is published. */
  onCall?: (call: CallInfo) => Promise<void> | void;
  /** valence -> label + confidence, from the model manifest's neutral band. */
  labeler: Labeler;
  /** Which modalities a segment's score rests on (the scorer's rule). */
  flags: FlagRule;
  metrics: PipelineMetrics;
  logger: Logger;
  /** Segments scored-but-not-stored at once before `accept` waits (default 256). */
  maxInFlight?: number;
  /** How often the window is ticked, ms of wall time (default 100). */
  tickMs?: number;
  /** Tries for a retriable scoring error before the segment is given up (default 5). */
  scoreAttempts?: number;
  /** Wall clock, injectable for tests. */
  now?: () => number;
  /** Ownership fencing; absent: one instance, writes unfenced. */
  fencing?: PipelineFencing;
  /** A gap between ticks longer than this, ms, is a stall (GC pause, frozen VM, SIGSTOP): the
   *  window's idle clock skips it, and with fencing the ownership is verified before the window
   *  ticks or takes a chunk again. Default 2000. */
  stallMs?: number;
}


type Defaults = 'maxInFlight' | 'tickMs' | 'scoreAttempts' | 'now' | 'stallMs';

export class Pipeline {
  private readonly o: Omit<PipelineOptions, Defaults> & Required<Pick<PipelineOptions, Defaults>>;
  private readonly inFlight = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];
  private ticker: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Serialises work per call so a revision is never stored before the score it revises. */
  private readonly callSteps = new KeyedSerial();

  /** Wall time of the last tick or chunk, ms, and the stalls (gaps beyond stallMs) summed. */
  private lastBeatMs: number;
  private stalledMs = 0;
  /** Set while ownership is re-verified after a stall: the window neither ticks nor takes chunks. */
  private verifying: Promise<void> | null = null;

  constructor(options: PipelineOptions) {
    this.o = { maxInFlight: 256, tickMs: 100, scoreAttempts: 5, now: Date.now, stallMs: 2000, ...options };
    this.lastBeatMs = this.o.now();
  }

  /** Starts the window ticker (idle timeouts, watermark seals without new chunks). */
  start(): void {
    this.lastBeatMs = this.o.now();
    this.ticker = setInterval(() => {
      this.beat();
      if (!this.verifying) this.handle(this.o.window.tick(this.windowNow()));
    }, this.o.tickMs);
    this.ticker.unref();
  }

  /**
   * Ingest's `forward`: one valid chunk into the window. Resolves when there is room again.
   * Once draining, throws SinkStopping: the chunk was not taken (it is the next owner's), and a
   * chunk let into the window after its last flush would be held there unsealed.
   */
  async onChunk(chunk: MediaChunk, raw: RawChunk): Promise<void> {
    if (this.stopping) throw new SinkStopping();
    this.beat();
    if (this.verifying) await this.verifying;
    // Not owned here (lost to another owner): the window drops it unreleased. The wait also
    // orders the partition's claim before the hand-over lookup below.
    if (this.o.fencing && chunk.source) await this.o.fencing.token(partitionKey(chunk.source));
    const prepare = this.o.window.prepare?.bind(this.o.window);
    if (prepare) await this.retryStore(() => prepare(chunk), chunk.source);
    if (this.stopping) throw new SinkStopping();
    const out = this.o.window.accept(chunk, this.windowNow());
    for (const ev of out) {
      if (ev.type === 'rejected' && ev.chunk === chunk) await this.o.reject(raw, ev.error);
    }
    this.handle(out.filter((ev) => !(ev.type === 'rejected' && ev.chunk === chunk)));
    while (this.inFlight.size >= this.o.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** After the source stopped: seals everything open and waits until every segment is stored and published. */
  async drain(): Promise<void> {
    if (this.stopping) return this.idle();
    this.stopping = true;
    if (this.ticker) clearInterval(this.ticker);
    this.handle(this.o.window.flush(this.windowNow()));
    await this.idle();
  }

  /** Resolves when nothing is in flight (tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Segments and call updates scored/stored but not yet finished. */
  inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * The window's clock: wall time less the stalls. Idle timeouts count only time this process
   * could see chunks arrive, so a process that was paused does not time out its calls on waking
   * (before it learns that another instance took them over).
   */
  private windowNow(): number {
    return this.o.now() - this.stalledMs;
  }

  /** Notes a stall (a gap since the last tick or chunk beyond stallMs) and, with fencing, re-verifies ownership. */
  private beat(): void {
    if (!this.ticker) return; // not started: gaps between chunks alone say nothing of a stall
    const now = this.o.now();
    const gap = now - this.lastBeatMs;
    this.lastBeatMs = now;
    if (gap <= this.o.stallMs) return;
    this.stalledMs += gap - this.o.tickMs;
    this.o.logger.warn({ stalledMs: gap }, 'process stalled (paused or starved); window idle clocks skip the gap');
    const fencing = this.o.fencing;
    if (fencing && !this.verifying) {
      this.verifying = this.retryStore(() => fencing.verify()).finally(() => {
        this.verifying = null;
      });
    }
  }

  /** The fence token for a write; null: not owned here. */
  private async fenceToken(partition: string | undefined): Promise<FenceToken | null | undefined> {
    return this.o.fencing ? this.o.fencing.token(partition) : undefined;
  }

  /** A write refused by the store: counted, reported once (Ownership), not retried, chunks not released. */
  private onFenced(token: FenceToken, what: 'score' | 'call'): void {
    this.o.metrics.writesFenced.inc({ what });
    this.o.fencing?.fenced(token);
  }

  private handle(events: WindowOutput[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case 'segment':
          this.track(ev.segment.tenant, ev.segment.callId, () => this.scoreStorePublish(ev.segment));
          break;
        case 'call':
          if (ev.error) {
            this.o.metrics.callsClosed.inc({ code: ev.error.code });
            this.o.logger.warn({ code: ev.error.code, callId: ev.call.callId, tenant: ev.call.tenant }, ev.error.message);
          }
          this.track(ev.call.tenant, ev.call.callId, () => this.storeCall(ev.call, ev.partition));
          break;
        case 'release':
          this.release(ev.refs);
          break;
        case 'rejected': {
          // A rejection of an earlier, held chunk (e.g. too late once its reorder gap was given
          // up): its raw record is gone, so it is dead-lettered re-encoded from the decoded chunk,
          // then counted and released like any reject (issue 13: it used to be counted only).
          const { chunk, error } = ev;
          if (chunk.source) {
            const source = chunk.source;
            this.track(chunk.tenant, chunk.callId, () => this.o.reject(reencodedRaw({ ...chunk, source }), error));
          }
          break;
        }
      }
    }
  }

  /** Runs `work` after the previous work of the same call (a call is (tenant, callId)), and
   *  counts it in flight. */
  private track(tenant: string, callId: string, work: () => Promise<void>): void {
    const p: Promise<void> = this.callSteps.run(callKey(tenant, callId), work).catch((e) => {
      this.o.logger.error({ err: e, callId, tenant }, 'pipeline step failed');
    }).finally(() => {
      this.inFlight.delete(p);
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    });
    this.inFlight.add(p);
  }

  private async storeCall(call: CallInfo, partition: string | undefined): Promise<void> {
    const token = await this.fenceToken(partition);
    if (token === null) return; // not owned here: the partition's owner ends the call
    try {
      await this.retryStore(() => this.o.store.upsertCall(call, token));
    } catch (e) {
      if (token && isFenced(e)) return this.onFenced(token, 'call');
      throw e;
    }
    await this.o.onCall?.(call);
    await this.o.publisher.publishCall(call);
    // Every earlier work of the call is done (one tail per call): its held first record may go.
    if (call.status !== 'ACTIVE') {
      const held = this.o.window.finished?.(call, partition) ?? [];
      if (held.length) this.o.release(held);
    }
  }

  private async scoreStorePublish(segment: Segment): Promise<void> {
    const t0 = this.o.now();
    const where = { callId: segment.callId, channel: segment.channel, segment: segment.index, partition: segment.sources[0]?.partition, offset: segment.sources[0]?.offset };
    let output;
    for (let attempt = 1; ; attempt++) {
      try {
        output = await this.o.scorer.score(segment);
        break;
      } catch (e) {
        const err = toAppError(e, 'SCORER_FAILED');
        if (!err.retriable || attempt >= this.o.scoreAttempts) {
          this.o.metrics.segmentsFailed.inc({ code: err.code });
          this.o.logger.error({ code: err.code, ...where }, `segment given up: ${err.message}`);
          this.release(segment.sources);
          return;
        }
        await backOff(attempt, { baseMs: 100, maxMs: 2000 });
      }
    }
    const score: SegmentScore = buildScore(segment, output, this.o.scorer.info(), { labeler: this.o.labeler, flags: this.o.flags }, new Date(this.o.now()));
    const token = await this.fenceToken(segment.sources[0] ? partitionKey(segment.sources[0]) : undefined);
    if (token === null || (this.o.window.owns && !this.o.window.owns(segment))) {
      // Revoked while scoring: the new owner re-reads these chunks; storing here would race it.
      this.o.metrics.segmentsRevoked.inc();
      this.o.logger.info(where, 'segment dropped: its partition was revoked');
      return;
    }
    let result: 'inserted' | 'duplicate';
    try {
      result = await this.retryStore(() => this.o.store.putScore(score, token), segment.sources[0]);
    } catch (e) {
      if (token && isFenced(e)) return this.onFenced(token, 'score');
      throw e;
    }
    this.o.metrics.segmentsScored.inc({ text: score.modalities.text, result });
    if (output.textSource === 'RECOGNISED') this.o.metrics.speechRoute.inc({ outcome: 'recognised' });
    else if (output.speechFallback) this.o.metrics.speechRoute.inc({ outcome: output.speechFallback });
    this.o.metrics.scoreLatency.observe((this.windowNow() - segment.sealedAtWallMs) / 1000);
    this.o.metrics.pipelineLatency.observe((this.o.now() - t0) / 1000);
    if (result === 'inserted') {
      await this.guard('onScored', () => this.o.onScored?.(score));
      await this.o.publisher.publishScore(score);
      // callUpdated promises "as a call gains segments": the stored call (segmentCount counted by
      // putScore) goes out after each new segment's score. A revision adds no segment.
      if (score.revision === 0) await this.guard('callUpdated', () => this.publishStoredCall(score));
    }
    this.release(segment.sources);
  }

  /** Releases records whose work is done, less those the window holds (commit hold). */
  private release(refs: ChunkSourceRef[]): void {
    const now = this.o.window.releasable ? this.o.window.releasable(refs) : refs;
    if (now.length) this.o.release(now);
  }

  private async publishStoredCall(score: SegmentScore): Promise<void> {
    const call = await this.o.store.getCall(score.callId, score.tenant);
    if (call) await this.o.publisher.publishCall(call);
  }

  /** A side consumer (analytics) failing must not lose or block the score itself. */
  private async guard(what: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.o.logger.error({ err: e }, `${what} failed`);
    }
  }

  /** Storage failures are retried until they succeed: giving up would lose a score. */
  private async retryStore<T>(op: () => Promise<T>, at?: ChunkSourceRef): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        if (isFenced(e)) throw e; // refused, not failed: see onFenced
        const err = toAppError(e, 'STORE_UNAVAILABLE');
        this.o.metrics.storeErrors.inc({ code: err.code });
        if (!err.retriable && err.code !== 'STORE_UNAVAILABLE') throw err;
        this.o.logger.warn({ code: err.code, attempt, partition: at?.partition, offset: at?.offset }, `store failed, retrying: ${err.message}`);
        await backOff(attempt, { baseMs: 200, maxMs: 5000 });
      }
    }
  }
}
