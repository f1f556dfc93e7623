/**
 * The pipeline: the one place where the stages meet. It owns no transport; every part comes in
 * through a port (src/core/ports.ts) or a stage's narrow interface.
 *
 *   source --RawChunk[]--> decode --MediaChunk--> window --Segment--> scorer --> store --> publisher
 *                             │                      │
 *                             └─ rejected: dead-letter + release      └─ call updates: store + publisher
 *
 * Guarantees (docs/lifecycle.md): a chunk is released to its source (Kafka offset committable)
 * only after the score of every segment it fed is stored, or after it was dead-lettered; a score
 * is published only after it is stored. Segments in flight are bounded (`maxInFlight`): when the
 * bound is reached, `accept` waits, which pauses the source (backpressure, no unbounded queue).
 */
import type { Logger } from 'pino';
import { AppError, toAppError } from '../core/errors.js';
import type { ChunkSink, ChunkSource, DeadLetterSink, RawChunk, Scorer, ScorePublisher, ScoreStore } from '../core/ports.js';
import type { CallInfo, ChunkSourceRef, MediaChunk, Segment, SegmentScore } from '../core/types.js';
import { buildScore, type Labeler } from './build-score.js';
import type { PipelineMetrics } from './metrics.js';

/** What the window stage emits. */
export type WindowOutput =
  | { type: 'segment'; segment: Segment }
  | { type: 'call'; call: CallInfo }
  | { type: 'rejected'; chunk: MediaChunk; error: AppError }
  | { type: 'release'; refs: ChunkSourceRef[] };

/** The window stage as the pipeline sees it (adapter over src/window). */
export interface WindowStage {
  accept(chunk: MediaChunk, nowWallMs: number): WindowOutput[];
  /** Seals what the idle timeout / watermark allows at this wall time. */
  tick(nowWallMs: number): WindowOutput[];
  /** Seals everything still open (shutdown). */
  flush(nowWallMs: number): WindowOutput[];
}

export interface PipelineOptions {
  source: ChunkSource;
  decode: (raw: RawChunk) => MediaChunk;
  window: WindowStage;
  scorer: Scorer;
  store: ScoreStore;
  publisher: ScorePublisher;
  deadLetters: DeadLetterSink;
  /** valence -> label + confidence, from the model manifest's neutral band. */
  labeler: Labeler;
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

export class Pipeline implements ChunkSink {
  private readonly o: Required<Omit<PipelineOptions, 'now'>> & { now: () => number };
  private readonly inFlight = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];
  private ticker: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Serialises work per call so a revision is never stored before the score it revises. */
  private readonly callTails = new Map<string, Promise<void>>();

  constructor(options: PipelineOptions) {
    this.o = { maxInFlight: 256, tickMs: 100, scoreAttempts: 5, now: Date.now, ...options };
  }

  async start(): Promise<void> {
    this.ticker = setInterval(() => this.handle(this.o.window.tick(this.o.now())), this.o.tickMs);
    this.ticker.unref();
    await this.o.source.start(this);
  }

  /** ChunkSink: decode, window, and hand segments to scoring. Resolves when there is room again. */
  async accept(batch: RawChunk[]): Promise<void> {
    for (const raw of batch) {
      let chunk: MediaChunk;
      try {
        chunk = this.o.decode(raw);
      } catch (e) {
        await this.reject(raw, toAppError(e, 'CHUNK_BAD_PAYLOAD'));
        continue;
      }
      this.o.metrics.chunksAccepted.inc({ modality: chunk.modality });
      const out = this.o.window.accept(chunk, this.o.now());
      for (const ev of out) {
        if (ev.type === 'rejected' && ev.chunk === chunk) await this.reject(raw, ev.error);
      }
      this.handle(out.filter((ev) => !(ev.type === 'rejected' && ev.chunk === chunk)));
      while (this.inFlight.size >= this.o.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Stops the ticker, seals everything open, waits for every segment to be stored and published. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.o.source.stop();
    if (this.ticker) clearInterval(this.ticker);
    this.handle(this.o.window.flush(this.o.now()));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when nothing is in flight (tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async reject(raw: RawChunk, error: AppError): Promise<void> {
    this.o.metrics.deadLetters.inc({ code: error.code });
    this.o.logger.warn({ code: error.code, partition: raw.source.partition, offset: raw.source.offset, callId: raw.key?.toString('utf8') }, error.message);
    await this.o.deadLetters.deadLetter(raw, { code: error.code, message: error.message });
    this.o.source.release([raw.source]);
  }

  private handle(events: WindowOutput[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case 'segment':
          this.track(ev.segment.callId, () => this.scoreStorePublish(ev.segment));
          break;
        case 'call':
          this.track(ev.call.callId, () => this.storeCall(ev.call));
          break;
        case 'release':
          this.o.source.release(ev.refs);
          break;
        case 'rejected':
          // A rejection of an earlier, buffered chunk (e.g. out of order after the reorder window):
          // its raw record is gone, so it is counted and logged; its offset is released with it.
          this.o.metrics.deadLetters.inc({ code: ev.error.code });
          this.o.logger.warn({ code: ev.error.code, callId: ev.chunk.callId, seq: ev.chunk.seq }, ev.error.message);
          if (ev.chunk.source) this.o.source.release([ev.chunk.source]);
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
    await this.o.publisher.publishCall(call);
  }

  private async scoreStorePublish(segment: Segment): Promise<void> {
    const t0 = this.o.now();
    let output;
    for (let attempt = 1; ; attempt++) {
      try {
        output = await this.o.scorer.score(segment);
        break;
      } catch (e) {
        const err = toAppError(e, 'SCORER_FAILED');
        if (!err.retriable || attempt >= this.o.scoreAttempts) {
          this.o.metrics.segmentsFailed.inc({ code: err.code });
          this.o.logger.error({ code: err.code, callId: segment.callId, channel: segment.channel, segment: segment.index }, `segment given up: ${err.message}`);
          this.o.source.release(segment.sources);
          return;
        }
        await sleep(Math.min(2000, 50 * 2 ** attempt));
      }
    }
    const score: SegmentScore = buildScore(segment, output, this.o.scorer.info(), this.o.labeler, new Date(this.o.now()));
    const result = await this.retryStore(() => this.o.store.putScore(score));
    this.o.source.release(segment.sources);
    this.o.metrics.segmentsScored.inc({ text: score.modalities.text, result });
    this.o.metrics.scoreLatency.observe((this.o.now() - segment.sealedAtWallMs) / 1000);
    this.o.metrics.pipelineLatency.observe((this.o.now() - t0) / 1000);
    if (result === 'inserted') await this.o.publisher.publishScore(score);
  }

  /** Storage failures are retried until they succeed: giving up would lose a score. */
  private async retryStore<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        const err = toAppError(e, 'STORE_UNAVAILABLE');
        this.o.metrics.storeErrors.inc({ code: err.code });
        if (!err.retriable && err.code !== 'STORE_UNAVAILABLE') throw err;
        this.o.logger.warn({ code: err.code, attempt }, `store failed, retrying: ${err.message}`);
        await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }
}
