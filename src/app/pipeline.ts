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
 * before publishing it is republished by the next owner of its call: src/cluster/recovery.ts). Segments in flight are bounded (`maxInFlight`): when the
 * bound is reached, `onChunk` waits, which holds the source's batch (backpressure: the Kafka
 * source pauses its partition, the in-process source blocks its producer; no unbounded queue).
 */
import type { Logger } from 'pino';
import { type AppError, toAppError } from '../core/errors.js';
import type { RawChunk, Scorer, ScorePublisher, ScoreStore } from '../core/ports.js';
import type { CallInfo, ChunkSourceRef, MediaChunk, Segment, SegmentScore } from '../core/types.js';
import { buildScore, type FlagRule, type Labeler } from './build-score.js';
import type { PipelineMetrics } from './metrics.js';

/** What the window stage emits. */
export type WindowOutput =
  | { type: 'segment'; segment: Segment }
  /** `error` is set when the window closed the call itself (CALL_IDLE_TIMEOUT). */
  | { type: 'call'; call: CallInfo; error?: AppError }
  | { type: 'rejected'; chunk: MediaChunk; error: AppError }
  | { type: 'release'; refs: ChunkSourceRef[] };

/** The window stage as the pipeline sees it (adapter over src/window). */
export interface WindowStage {
  accept(chunk: MediaChunk, nowWallMs: number): WindowOutput[];
  /** Seals what the idle timeout / watermark allows at this wall time. */
  tick(nowWallMs: number): WindowOutput[];
  /** Seals everything still open (shutdown). */
  flush(nowWallMs: number): WindowOutput[];
  /** Optional async step before `accept` (hand-over: where a call stands in storage). Its store
   *  errors are retried like a store write. */
  prepare?(chunk: MediaChunk): Promise<void>;
  /** Optional: false when this instance no longer owns the segment's call (partition revoked):
   *  the segment is then dropped before storing; the partition's new owner scores it. */
  owns?(segment: Segment): boolean;
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Defaults = 'maxInFlight' | 'tickMs' | 'scoreAttempts' | 'now';

export class Pipeline {
  private readonly o: Omit<PipelineOptions, Defaults> & Required<Pick<PipelineOptions, Defaults>>;
  private readonly inFlight = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];
  private ticker: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Serialises work per call so a revision is never stored before the score it revises. */
  private readonly callTails = new Map<string, Promise<void>>();

  constructor(options: PipelineOptions) {
    this.o = { maxInFlight: 256, tickMs: 100, scoreAttempts: 5, now: Date.now, ...options };
  }

  /** Starts the window ticker (idle timeouts, watermark seals without new chunks). */
  start(): void {
    this.ticker = setInterval(() => this.handle(this.o.window.tick(this.o.now())), this.o.tickMs);
    this.ticker.unref();
  }

  /** Ingest's `forward`: one valid chunk into the window. Resolves when there is room again. */
  async onChunk(chunk: MediaChunk, raw: RawChunk): Promise<void> {
    if (this.stopping) throw toAppError(new Error('pipeline is stopping'), 'INTERNAL');
    const prepare = this.o.window.prepare?.bind(this.o.window);
    if (prepare) await this.retryStore(() => prepare(chunk), chunk.source);
    const out = this.o.window.accept(chunk, this.o.now());
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
    this.handle(this.o.window.flush(this.o.now()));
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

  private handle(events: WindowOutput[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case 'segment':
          this.track(ev.segment.callId, () => this.scoreStorePublish(ev.segment));
          break;
        case 'call':
          if (ev.error) {
            this.o.metrics.callsClosed.inc({ code: ev.error.code });
            this.o.logger.warn({ code: ev.error.code, callId: ev.call.callId, tenant: ev.call.tenant }, ev.error.message);
          }
          this.track(ev.call.callId, () => this.storeCall(ev.call));
          break;
        case 'release':
          this.o.release(ev.refs);
          break;
        case 'rejected':
          // A rejection of an earlier, buffered chunk (e.g. out of order after the reorder window):
          // its raw record is gone, so it is counted and logged; its offset is released with it.
          this.o.metrics.deadLetters.inc({ code: ev.error.code });
          this.o.logger.warn({ code: ev.error.code, callId: ev.chunk.callId, seq: ev.chunk.seq, partition: ev.chunk.source?.partition, offset: ev.chunk.source?.offset }, ev.error.message);
          if (ev.chunk.source) this.o.release([ev.chunk.source]);
          break;
      }
    }
  }

  /** Runs `work` after the previous work of the same call, and counts it in flight. */
  private track(callId: string, work: () => Promise<void>): void {
    const prev = this.callTails.get(callId) ?? Promise.resolve();
    const p: Promise<void> = prev.then(work).catch((e) => {
      this.o.logger.error({ err: e, callId }, 'pipeline step failed');
    }).finally(() => {
      this.inFlight.delete(p);
      if (this.callTails.get(callId) === p) this.callTails.delete(callId);
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    });
    this.callTails.set(callId, p);
    this.inFlight.add(p);
  }

  private async storeCall(call: CallInfo): Promise<void> {
    await this.retryStore(() => this.o.store.upsertCall(call));
    await this.o.onCall?.(call);
    await this.o.publisher.publishCall(call);
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
          this.o.release(segment.sources);
          return;
        }
        await sleep(Math.min(2000, 50 * 2 ** attempt));
      }
    }
    const score: SegmentScore = buildScore(segment, output, this.o.scorer.info(), { labeler: this.o.labeler, flags: this.o.flags }, new Date(this.o.now()));
    if (this.o.window.owns && !this.o.window.owns(segment)) {
      // Revoked while scoring: the new owner re-reads these chunks; storing here would race it.
      this.o.metrics.segmentsRevoked.inc();
      this.o.logger.info(where, 'segment dropped: its partition was revoked');
      return;
    }
    const result = await this.retryStore(() => this.o.store.putScore(score), segment.sources[0]);
    this.o.metrics.segmentsScored.inc({ text: score.modalities.text, result });
    if (output.textSource === 'RECOGNISED') this.o.metrics.speechRoute.inc({ outcome: 'recognised' });
    else if (output.speechFallback) this.o.metrics.speechRoute.inc({ outcome: output.speechFallback });
    this.o.metrics.scoreLatency.observe((this.o.now() - segment.sealedAtWallMs) / 1000);
    this.o.metrics.pipelineLatency.observe((this.o.now() - t0) / 1000);
    if (result === 'inserted') {
      await this.guard('onScored', () => this.o.onScored?.(score));
      await this.o.publisher.publishScore(score);
    }
    this.o.release(segment.sources);
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
        const err = toAppError(e, 'STORE_UNAVAILABLE');
        this.o.metrics.storeErrors.inc({ code: err.code });
        if (!err.retriable && err.code !== 'STORE_UNAVAILABLE') throw err;
        this.o.logger.warn({ code: err.code, attempt, partition: at?.partition, offset: at?.offset }, `store failed, retrying: ${err.message}`);
        await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }
}
