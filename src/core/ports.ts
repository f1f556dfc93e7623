/**
 * Ports: the narrow interfaces between the stages of the data path. The core pipeline knows
 * only these; Kafka, onnxruntime, SQLite/PostgreSQL and graphql-ws live in adapters behind them.
 *
 *   ChunkSource -> (ingest decode) -> window -> Scorer -> ScoreStore -> ScorePublisher
 *
 * Every long-lived part has start/stop. Shutdown order is written once, in src/app/lifecycle.ts.
 */
import type { Alert, AlertRuleKind, AlertRules, CallSummary } from './alerts.js';
import type { AppError } from './errors.js';
import type { CallInfo, ChunkSourceRef, MediaChunk, ModelOutput, SentimentLabel, Segment, SegmentScore } from './types.js';

/** A chunk exactly as a source received it, before any validation. */
export interface RawChunk {
  /** Kafka key: the call id (UTF-8). */
  key: Buffer | null;
  /** Kafka headers (values as received; Kafka gives Buffers). */
  headers: Record<string, Buffer | string | undefined>;
  value: Buffer | null;
  source: ChunkSourceRef;
}

/** Where a source delivers chunks. Awaiting `accept` is the backpressure: a source must not
 *  deliver the next chunk of a partition before the previous accept resolved. A sink that is
 *  shutting down throws SinkStopping (core/stopping.ts) naming the records it did not take. */
export interface ChunkSink {
  accept(batch: RawChunk[]): Promise<void>;
}

export interface ChunkSource {
  readonly name: string;
  start(sink: ChunkSink): Promise<void>;
  /**
   * Chunks are finished: their segments' scores are stored, or they were dead-lettered.
   * The source commits, per partition, the highest offset below which everything is released.
   */
  release(refs: ChunkSourceRef[]): void;
  /**
   * Stops taking chunks, then commits what was released. `drained` resolves once the sink has
   * released all it ever will (the pipeline's drain ended): a source that waits for in-flight
   * records waits for that, not for a fixed time, so a slow drain still commits its work.
   */
  stop(drained?: Promise<void>): Promise<void>;
}

/** Where rejected chunks go, with their error. */
/** How a dead letter was written: the record's copy, or (when the copy cannot be written, e.g.
 *  over the broker's message size) a reference to it: topic, partition, offset, code, sha256 and
 *  size of the payload, without the payload. */
export type DeadLetterKind = 'copy' | 'reference';

export interface DeadLetterSink {
  /** Resolves once the letter is written; rejects only when nothing could be written (e.g. the
   *  broker is down), so the caller can retry without losing the record. */
  deadLetter(raw: RawChunk, error: { code: string; message: string }): Promise<DeadLetterKind | void>;
}

/** What the window stage emits. */
export type WindowOutput =
  | { type: 'segment'; segment: Segment }
  /** `error` is set when the window closed the call itself (CALL_IDLE_TIMEOUT); `partition`
   *  ("topic/partition") is the call's source partition, whose fence token its write carries. */
  | { type: 'call'; call: CallInfo; error?: AppError; partition?: string }
  | { type: 'rejected'; chunk: MediaChunk; error: AppError }
  | { type: 'release'; refs: ChunkSourceRef[] };

/** The window stage as the pipeline (src/app/pipeline.ts) sees it: a Windower, or the
 *  PartitionedWindow of several instances (src/window/). */
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
  /** Optional commit hold (src/window/commit-hold.ts): of refs whose work is done, those to
   *  release now; the window keeps the rest until `finished` says so. */
  releasable?(refs: ChunkSourceRef[]): ChunkSourceRef[];
  /** Optional: the call's final status (ENDED / TIMED_OUT) is stored; records the window held
   *  for it, to release now. */
  finished?(call: CallInfo, partition: string | undefined): ChunkSourceRef[];
}

export interface ScorerInfo {
  modelVersion: string;
  /** The execution provider actually running (after fallback), e.g. 'cpu', 'webgpu', 'cuda'. */
  executionProvider: string;
  /** Providers tried in order and why each one that was skipped failed. */
  providerAttempts: { provider: string; ok: boolean; error?: string }[];
  workers: number;
}

export interface Scorer {
  start(): Promise<void>;
  info(): ScorerInfo;
  /** Scores one segment; the scorer batches concurrent calls across calls internally. */
  score(segment: Segment): Promise<ModelOutput>;
  stop(): Promise<void>;
}

/** A page of results with an opaque cursor (Relay-style). */
export interface Page<T> {
  items: { node: T; cursor: string }[];
  hasNextPage: boolean;
  endCursor: string | null;
  totalCount: number;
}

export interface SegmentQuery {
  tenant?: string;
  callId: string;
  channel?: string;
  first: number;
  after?: string;
  /** Only the latest revision of each segment (default true). */
  latestOnly?: boolean;
}

export interface CallQuery {
  tenant?: string;
  status?: CallInfo['status'];
  startedAfterMs?: number;
  startedBeforeMs?: number;
  first: number;
  after?: string;
}

/**
 * Ownership fencing (src/store/fencing.ts): the owner epoch of a source partition ("topic/partition")
 * a write was made under. A store refuses a write whose epoch is no longer the partition's
 * current one with STORE_FENCED (not retriable), checked inside the write's own transaction.
 */
export interface FenceToken {
  partition: string;
  epoch: number;
}

/** Every score store keeps history, so `scores(since:)` resumes on any of them. */
export interface ScoreStore extends ScoreHistory {
  start(): Promise<void>;
  /** Idempotent on (callId, channel, segmentIndex, revision): a repeat returns 'duplicate'.
   *  With `fence`: refused (STORE_FENCED) unless `fence.epoch` is its partition's current epoch. */
  putScore(score: SegmentScore, fence?: FenceToken): Promise<'inserted' | 'duplicate'>;
  /** With `fence`: as putScore; the call is also recorded as belonging to `fence.partition`. */
  upsertCall(call: CallInfo, fence?: FenceToken): Promise<void>;
  getCall(callId: string, tenant?: string): Promise<CallInfo | null>;
  listCalls(q: CallQuery): Promise<Page<CallInfo>>;
  getSegments(q: SegmentQuery): Promise<Page<SegmentScore>>;
  stop(): Promise<void>;
}

/** A call left ACTIVE in storage, with the end of its last stored segment (null: none). */
export interface StaleCall {
  call: CallInfo;
  lastEndMs: number | null;
}

/** The owner epochs of source partitions, kept by the score store (both dialects, one rule). */
export interface OwnershipStore {
  /**
   * Claims each partition for `owner`, atomically per partition: one whose stored epoch is
   * `held` and whose owner is `owner` keeps its epoch (this owner kept it across a rebalance);
   * any other gets epoch + 1 (1 for a first claim), which fences every write made under an
   * older epoch. Returns each partition's epoch after the claim.
   */
  claimPartitions(owner: string, claims: { partition: string; held?: number }[]): Promise<Map<string, number>>;
  /** The current epoch of each partition that was ever claimed. */
  partitionEpochs(partitions: string[]): Promise<Map<string, number>>;
  /** ACTIVE calls last written under `partition` whose row was last updated before
   *  `updatedBeforeMs` (wall ms, the store's clock), at most `limit`, oldest first. */
  staleActiveCalls(partition: string, updatedBeforeMs: number, limit: number): Promise<StaleCall[]>;
}

/** What a subscriber that reconnects needs to resume without a gap (issue 4): see ScoreHistory. */
export interface HistoryQuery {
  tenant?: string;
  /** Only this call's scores (optional). */
  callId?: string;
  /** Wall-clock ms since the unix epoch; scores stored at or after it. Ignored when `after` is set. */
  sinceMs?: number;
  /** A cursor from a previous page (or from an event's `cursor`). */
  after?: string;
  /** Page size, 1..MAX_PAGE_SIZE (store/page.ts). */
  first: number;
}

/** A score with the storage time its storage-order cursor is built from. */
export interface StoredScore {
  score: SegmentScore;
  /** Wall-clock ms when the store inserted the score. */
  storedAtMs: number;
}

/**
 * Every score of a tenant stored at or after a point in time, in storage order (storedAtMs,
 * storage id), paged. On SQLite one writer makes that commit order; with concurrent writers
 * (PostgreSQL) ids can commit out of order, so a resuming reader starts a safety margin before
 * the point it wants and drops repeats by (callId, channel, segmentIndex, revision).
 */
export interface ScoreHistory {
  /** Every revision (not only the latest), in storage order. */
  scoresSince(q: HistoryQuery): Promise<Page<StoredScore>>;
}

export interface AlertQuery {
  tenant?: string;
  callId?: string;
  rule?: AlertRuleKind;
  /** Only alerts whose segment ended at or after this event time (ms since the unix epoch). */
  sinceMs?: number;
  /** Page size, 1..MAX_PAGE_SIZE (store/page.ts). */
  first: number;
  after?: string;
}

export interface CallSearch {
  tenant?: string;
  /** The call's scored span overlaps [fromMs, toMs] (either bound optional). */
  fromMs?: number;
  toMs?: number;
  /** Channel whose mean valence the sentiment filters read (default 'customer'). */
  channel?: string;
  minMeanValence?: number;
  maxMeanValence?: number;
  /** Mean valence class of `channel`: NEGATIVE below band[0], POSITIVE above band[1], else NEUTRAL. */
  sentiment?: SentimentLabel;
  /** The neutral band of the model manifest (default [-0.5, 0.5]). */
  neutralBand?: [number, number];
  /** true: only calls with alerts; false: only calls without. */
  hasAlerts?: boolean;
  /** Page size, 1..MAX_PAGE_SIZE (store/page.ts). */
  first: number;
  after?: string;
}

/**
 * Where alerts, per-tenant alert rules and per-call summaries live (store/ implements it on
 * SQLite and PostgreSQL; one behaviour suite, test/analytics/alert-store-contract.ts, runs
 * against both). A call is (tenant, callId). An optional `tenant` reads "undefined = all
 * tenants", for operators and the engine's own bookkeeping, never for API callers.
 */
export interface AlertStore {
  start(): Promise<void>;
  /** Idempotent on alert id: a repeat returns 'duplicate' and counts nothing twice. */
  putAlert(alert: Alert): Promise<'inserted' | 'duplicate'>;
  /** Newest first (eventTimeMs, then id, descending). */
  listAlerts(q: AlertQuery): Promise<Page<Alert>>;
  /** The alerts already raised on a tenant's call, oldest first (eventTimeMs, then id). */
  alertsOfCall(callId: string, tenant?: string): Promise<Alert[]>;
  getRules(tenant: string): Promise<AlertRules | null>;
  /** Every tenant's stored rules (loaded once at start into the engine's cache). */
  allRules(): Promise<Map<string, AlertRules>>;
  /** Validates (BAD_REQUEST) and replaces a tenant's rules. */
  setRules(tenant: string, rules: AlertRules): Promise<void>;
  /** Replaces one call's summary (span and channels; the alert count is kept by putAlert). */
  putSummary(summary: Omit<CallSummary, 'alertCount'>): Promise<void>;
  /** A tenant's call summary; without a tenant, the first tenant's (byte order) of that call id. */
  getSummary(callId: string, tenant?: string): Promise<CallSummary | null>;
  /** Most recent first (lastMs, then callId, then tenant, descending). */
  searchCalls(q: CallSearch): Promise<Page<CallSummary>>;
  stop(): Promise<void>;
}

/** What a live score subscriber listens to: a tenant, optionally one call and one channel. */
export interface ScoreFilter {
  tenant: string;
  /** Only this call (default: every call of the tenant). */
  callId?: string;
  /** Only this channel (default: every channel). */
  channel?: string;
}

/** What a live call-update subscriber listens to: a tenant, optionally one call. */
export interface CallFilter {
  tenant: string;
  callId?: string;
}

/** One subscriber's queue: its bound, and what happens when the subscriber falls that far behind
 *  (drop its oldest events, or close it with SUBSCRIBER_TOO_SLOW). */
export interface FeedOptions {
  /** Queued events before the overflow policy applies. Default 256. */
  capacity?: number;
  /** Default 'drop-oldest'. */
  policy?: 'drop-oldest' | 'close';
}

/** One live subscription: events in order; `return()` ends it and frees its queue. */
export interface FeedSubscription<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
}

/** The live side of the publish stage as the API reads it. */
export interface ScoreFeed {
  subscribeScores(filter: ScoreFilter, opts?: FeedOptions): FeedSubscription<SegmentScore>;
  subscribeCalls(filter: CallFilter, opts?: FeedOptions): FeedSubscription<CallInfo>;
}

/** Fan-out of scores and call updates to subscribers (in-process, or through a Kafka topic). */
export interface ScorePublisher {
  start(): Promise<void>;
  publishScore(score: SegmentScore): Promise<void>;
  publishCall(call: CallInfo): Promise<void>;
  stop(): Promise<void>;
}
