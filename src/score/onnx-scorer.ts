/**
 * The Scorer port on onnxruntime-node: manifest -> worker pool -> micro-batcher.
 * Lifecycle: created -> started -> stopped (only forward). start() validates the manifest and
 * opens every worker's sessions; stop() lets queued segments finish, then ends the workers.
 */
import type { Scorer, ScorerInfo } from '../core/ports.js';
import type { ModelOutput, Segment } from '../core/types.js';
import { AppError } from '../core/errors.js';
import { Batcher, type BatcherOptions } from './batcher.js';
import { hasAudio, hasText, validateSegment } from './features.js';
import { loadManifest, resolveModelDir, type ModelManifest } from './manifest.js';
import { WorkerPool, type PoolOptions } from './pool.js';
import { DEFAULT_PROVIDERS } from './providers.js';
import type { RoutedInput, TextRoute } from './speech-route.js';

/**
 * The speech path (speech-route.ts): words recognised from a text-missing segment's audio.
 * Bounded: at most `maxQueue` segments hold a ticket (waiting for or in recognition) at once; a
 * segment that finds them all taken, or whose `deadlineMs` (from its arrival at the scorer) would
 * pass before its words are ready, is scored on the model's simulated text and says so.
 */
export interface SpeechPathOptions {
  /** Speech model folder (models/speech-whisper-tiny-en). */
  modelDir: string;
  /** Most segments queued for or in recognition at once (>= 1). */
  maxQueue: number;
  /** Most ms from score() to the words being ready (>= 1). */
  deadlineMs: number;
  /** Shortest encoder context, ms (SpeechRecogniserOptions.minContextSeconds); null/absent: the model's. */
  minContextMs?: number | null;
}

/** Scorer settings; every field has a constant default (the app passes the config's values: SCORER_*). */
export interface OnnxScorerOptions extends BatcherOptions {
  /** Model folder (default: models/<models/CURRENT> under the working directory). */
  modelDir?: string;
  /** Providers in order (default cuda,webgpu,cpu). */
  providers?: string[];
  /** Worker threads (default 1). */
  workers?: number;
  /** onnxruntime intra-op threads per worker (default 1). */
  intraOpThreads?: number;
  /** Most transcripts per text-encoder run (default 1; see inference.ts). */
  textBatch?: number;
  /** The speech path; absent or null: off (every text-missing segment is simulated). */
  speech?: SpeechPathOptions | null;
  /** Check graph sha256 at start (default true). */
  verifyHashes?: boolean;
  /** Observability hooks passed to the pool. */
  onDispatch?: PoolOptions['onDispatch'];
  onCrash?: PoolOptions['onCrash'];
  onResult?: PoolOptions['onResult'];
}

/** The Scorer plus what the pipeline needs to build a SegmentScore (label scale, modality rule). */
export interface OnnxScorer extends Scorer {
  /** The loaded manifest; throws before start(). */
  manifest(): ModelManifest;
  /** Segments waiting for a batch. */
  queueDepth(): number;
  /** Segments holding a speech-path ticket (queued for or in recognition). */
  speechDepth(): number;
  /** The pool, for fault drills (kill a worker) and tests. */
  readonly pool: WorkerPool | null;
}

export function createOnnxScorer(options: OnnxScorerOptions = {}): OnnxScorer {
  let state: 'created' | 'started' | 'stopped' = 'created';
  let manifest: ModelManifest | null = null;
  let pool: WorkerPool | null = null;
  let batcher: Batcher<RoutedInput, ModelOutput> | null = null;
  /**
   * Segments with a speech ticket queue apart, one per batch: the worker recognises a batch's
   * rows one after another, so a segment that carries its transcript never waits behind more
   * than the one recognition running (a shared batch would make it wait for all of them).
   */
  let speechBatcher: Batcher<RoutedInput, ModelOutput> | null = null;
  const speech = options.speech ?? null;
  if (speech && (!Number.isInteger(speech.maxQueue) || speech.maxQueue < 1 || !Number.isInteger(speech.deadlineMs) || speech.deadlineMs < 1)) {
    throw new AppError('BAD_REQUEST', { reason: `speech maxQueue ${speech.maxQueue} and deadlineMs ${speech.deadlineMs} must be integers >= 1` });
  }
  /** Tickets out: segments admitted to the speech path and not yet scored. */
  let speechHeld = 0;
  /** Set when every worker is gone and none restarts: score() fails fast instead of queueing. */
  let dead: AppError | null = null;

  const scorer: OnnxScorer = {
    get pool() {
      return pool;
    },
    async start() {
      if (state !== 'created') throw new AppError('SCORER_FAILED', { reason: `start() called when ${state}` });
      manifest = await loadManifest(options.modelDir ?? resolveModelDir(undefined), { verifyHashes: options.verifyHashes });
      pool = new WorkerPool({
        manifest,
        size: options.workers ?? 1,
        providers: options.providers ?? [...DEFAULT_PROVIDERS],
        intraOpThreads: options.intraOpThreads ?? 1,
        textBatch: options.textBatch ?? 1,
        speechModelDir: speech?.modelDir ?? null,
        speechMinContextMs: speech?.minContextMs ?? null,
        onDispatch: options.onDispatch,
        onCrash: options.onCrash,
        onResult: options.onResult,
      });
      const p = pool;
      const dispatch = async (segs: RoutedInput[]) => toOutputs(await p.run(segs), segs.length);
      const b = new Batcher<RoutedInput, ModelOutput>(options, dispatch, () => p.idle() > 0);
      const sb = new Batcher<RoutedInput, ModelOutput>({ maxBatch: 1, maxWaitMs: 0, maxQueue: options.maxQueue }, dispatch, () => p.idle() > 0);
      // Transcript and simulated rows first: they cost milliseconds, a recognition hundreds.
      p.onIdle = () => {
        b.kick();
        sb.kick();
      };
      p.onDead = (e) => {
        dead = e;
        b.failQueued(e);
        sb.failQueued(e);
      };
      await p.start();
      batcher = b;
      speechBatcher = sb;
      state = 'started';
    },
    info(): ScorerInfo {
      return {
        modelVersion: manifest?.version ?? 'none',
        executionProvider: pool?.provider ?? 'none',
        providerAttempts: pool?.attempts ?? [],
        workers: pool?.workers() ?? 0,
      };
    },
    score(segment: Segment): Promise<ModelOutput> {
      if (state !== 'started' || !batcher || !speechBatcher || !manifest) return Promise.reject(new AppError('SCORER_FAILED', { reason: `scorer is ${state}` }));
      if (dead) return Promise.reject(dead);
      try {
        validateSegment(segment, manifest);
      } catch (e) {
        return Promise.reject(e);
      }
      // Only what the model reads crosses to the worker thread, with the speech path's decision.
      const input: RoutedInput = { audio: segment.audio, text: segment.text, video: segment.video, videoFrames: segment.videoFrames };
      if (hasText(segment) || !hasAudio(segment)) return batcher.submit(input);
      if (!speech) return batcher.submit({ ...input, speech: { fallback: 'disabled' } });
      if (speechHeld >= speech.maxQueue) return batcher.submit({ ...input, speech: { fallback: 'queue_full' } });
      speechHeld++;
      const out = speechBatcher.submit({ ...input, speech: { ticket: { deadlineWallMs: Date.now() + speech.deadlineMs } } });
      void out.then(release, release);
      return out;
    },
    speechDepth() {
      return speechHeld;
    },
    manifest() {
      if (!manifest) throw new AppError('SCORER_FAILED', { reason: 'scorer not started' });
      return manifest;
    },
    queueDepth() {
      return (batcher?.depth() ?? 0) + (speechBatcher?.depth() ?? 0);
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      await Promise.all([batcher?.close(), speechBatcher?.close()]);
      await pool?.stop();
    },
  };
  function release(): void {
    speechHeld--;
  }
  return scorer;
}

function toOutputs(r: { valence: Float32Array; alpha: Float32Array; routes: TextRoute[] }, n: number): ModelOutput[] {
  return Array.from({ length: n }, (_, i) => ({
    valence: r.valence[i],
    modalityWeights: { text: r.alpha[i * 3], audio: r.alpha[i * 3 + 1], video: r.alpha[i * 3 + 2] },
    textSource: r.routes[i].source,
    recognisedText: r.routes[i].recognisedText,
    speechFallback: r.routes[i].fallback,
  }));
}
