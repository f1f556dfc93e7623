/**
 * The stages whose numbers come from the model (sample rate, segment length, video frames,
 * labels): decode -> window -> pipeline -> ingest, built once the scorer has read its manifest.
 * Construction only: the lifecycle (src/app/lifecycle.ts) starts and stops what this returns.
 */
import type { Logger } from 'pino';
import type { AppError } from '../core/errors.js';
import type { ChunkSourceRef } from '../core/types.js';
import type { DeadLetterSink, OwnershipStore, RawChunk, ScorePublisher, ScoreStore } from '../core/ports.js';
import { createDecoder, createIngest, type Ingest } from '../ingest/index.js';
import type { RecordOutcomes } from '../ingest/ws/outcomes.js';
import { modalityFlags } from '../score/features.js';
import { labelFor } from '../score/label.js';
import type { ModelManifest } from '../score/manifest.js';
import type { OnnxScorer } from '../score/onnx-scorer.js';
import type { Ownership } from '../store/ownership.js';
import { StaleCallSweeper } from '../store/stale-calls.js';
import { CommitHolds } from '../window/commit-hold.js';
import { Windower, type WindowOptionsInput } from '../window/index.js';
import { DEFAULT_WINDOW_OPTIONS, withPreset } from '../window/options.js';
import { PartitionedWindow } from '../window/partitioned-window.js';
import { recoverCall } from '../window/recovery.js';
import type { Analytics } from '../analytics/index.js';
import { type AppConfig, chunkTenantRule } from './config.js';
import type { KafkaParts } from './kafka.js';
import { keyForLog, positionForLog } from './log-safe.js';
import type { PipelineMetrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import { RateLimitedWarn } from './rate-limited-warn.js';

export interface DataPathDeps {
  config: AppConfig;
  logger: Logger;
  scorer: OnnxScorer;
  store: ScoreStore;
  publisher: ScorePublisher;
  analytics: Analytics;
  metrics: PipelineMetrics;
  deadLetters: DeadLetterSink;
  outcomes: RecordOutcomes;
  kafka: KafkaParts | null;
  ownership: Ownership | null;
  /** Marks records finished at the source and tells an ingest socket. */
  release: (refs: ChunkSourceRef[]) => void;
  /** Window options over the defaults (AppOverrides.window). */
  window?: WindowOptionsInput;
}

export interface DataPath {
  window: PartitionedWindow;
  pipeline: Pipeline;
  /** The sink the chunk source delivers to. */
  ingest: Ingest;
  /** Ends calls a stopped owner left ACTIVE (several instances, with ownership). */
  sweeper: StaleCallSweeper | null;
}

/**
 * Each partition's Windower options: the latency preset, the settings (VAD hangover, the open
 * budget), the overrides, then what the model fixes (sample rate, longest segment, video frames).
 */
export function windowOptionsFor(config: AppConfig, manifest: Pick<ModelManifest, 'audio' | 'video'>, overrides?: WindowOptionsInput): WindowOptionsInput {
  const hangover = config.vadHangoverMs === null ? {} : { hangoverMs: config.vadHangoverMs };
  // The open budget in float32 samples; what it seals early waits in the history for its
  // transcripts, hence twice as much there (src/window/options.ts).
  const openSamples = Math.floor(config.windowOpenAudioBytes / 4);
  return {
    ...withPreset(config.latencyPreset, { maxOpenSamples: openSamples, historyBudget: 2 * openSamples, ...overrides, vad: { ...hangover, ...overrides?.vad } }),
    sampleRate: manifest.audio.sampleRate,
    maxSegmentMs: (manifest.audio.maxSamples / manifest.audio.sampleRate) * 1000,
    maxVideoFrames: manifest.video.maxFrames,
  };
}

export function buildDataPath(d: DataPathDeps): DataPath {
  const { config, logger, scorer, store, publisher, analytics, metrics, kafka, ownership } = d;
  const manifest = scorer.manifest();
  const decode = createDecoder({ modelSampleRate: manifest.audio.sampleRate, videoFeatureDim: manifest.video.featureDim, defaultTenant: chunkTenantRule(config) });
  const windowOptions = windowOptionsFor(config, manifest, d.window);
  // One Windower per source partition; with Kafka, a call met mid-way continues from storage.
  const window = new PartitionedWindow({
    make: () => new Windower(windowOptions),
    recover: kafka
      ? async (callId, tenant) => {
        const pos = await recoverCall(store, callId, tenant);
        if (pos) logger.info({ callId, tenant, ...positionForLog(pos) }, 'call met mid-way: continuing from storage');
        // An ACTIVE call's previous owner may have stored these and died before publishing
        // them (an ENDED call's end is stored after all its scores were published).
        if (pos?.call.status === 'ACTIVE') for (const s of pos.lastScores) await publisher.publishScore(s);
        return pos;
      }
      : undefined,
    onSkip: (_chunk, reason) => metrics.chunksSkipped.inc({ reason }),
    holds: kafka ? new CommitHolds({
      maxSpanMs: config.handover.replayMaxMs,
      maxRecords: config.handover.holdMaxRecords,
      onGiveUp: (reason) => metrics.holdsGivenUp.inc({ reason }),
    }) : undefined,
    onHandover: (event, call) => {
      metrics.handover.inc({ event });
      if (event === 'mismatch') logger.warn({ callId: call.callId, tenant: call.tenant }, 'hand-over replay cut a stored segment differently; the stored one stays');
      else if (event === 'replay' || event === 'cut') logger.info({ callId: call.callId, tenant: call.tenant, mode: event }, 'hand-over: call continues');
    },
    behind: kafka ? (part) => kafka.source.behind(part) : undefined,
  });
  const sweeper = ownership
    ? new StaleCallSweeper({
      store: store as ScoreStore & OwnershipStore, ownership, window,
      idleTimeoutMs: d.window?.idleTimeoutMs ?? DEFAULT_WINDOW_OPTIONS.idleTimeoutMs,
      logger: logger.child({ component: 'stale-calls' }),
    })
    : null;
  let ingestReject: ((raw: RawChunk, e: AppError) => Promise<void>) | null = null;
  const pipeline = new Pipeline({
    window,
    scorer,
    store,
    publisher,
    metrics,
    logger,
    labeler: (v) => labelFor(v, manifest.labels),
    flags: (segment) => modalityFlags(segment, manifest),
    release: d.release,
    reject: (raw, e) => ingestReject!(raw, e),
    fencing: ownership
      ? {
        token: async (partition) => (partition === undefined ? undefined : ownership.token(partition)),
        fenced: (token) => ownership.fenced(token),
        verify: () => ownership.verify(),
      }
      : undefined,
    onScored: async (score) => {
      await analytics.service.onScored(score);
    },
    onCall: (call) => {
      if (call.status !== 'ACTIVE') analytics.service.onCallEnded(call.callId, call.tenant);
    },
  });
  const rejectLog = new RateLimitedWarn(logger);
  const ingest = createIngest({
    source: { release: d.release },
    decode,
    deadLetters: d.deadLetters,
    forward: (chunk, raw) => {
      metrics.chunksAccepted.inc({ modality: chunk.modality });
      return pipeline.onChunk(chunk, raw);
    },
    onRejected: (raw, e) => {
      d.outcomes.rejected(raw.source, e);
      rejectLog.warn(e.code, { callId: keyForLog(raw.key), partition: raw.source.partition, offset: raw.source.offset }, e.message);
    },
    onDeadLettered: (_raw, e, kind) => {
      metrics.deadLetters.inc({ code: e.code });
      if (kind === 'reference') metrics.deadLetterReferences.inc({ code: e.code });
    },
    onDeadLetterFailed: (raw, e, cause) => {
      metrics.deadLetterFailures.inc({ code: e.code });
      logger.warn({ code: e.code, partition: raw.source.partition, offset: raw.source.offset, err: cause }, 'dead letter not written; retrying');
    },
  });
  ingestReject = (raw, e) => ingest.reject(raw, e);
  return { window, pipeline, ingest, sweeper };
}
