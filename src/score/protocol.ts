/** Messages between the pool (main thread) and a scoring worker thread. */
import type { ModelManifest } from './manifest.js';
import type { ProviderAttempt } from './providers.js';
import type { RoutedInput, TextRoute } from './speech-route.js';

/** What a worker is started with (structured-cloned into the thread). */
export interface WorkerInit {
  workerId: number;
  manifest: ModelManifest;
  providers: string[];
  intraOpThreads: number;
  textBatch: number;
  /** Speech model folder to open in the worker, or null: the speech path is off. */
  speechModelDir: string | null;
  /** The recogniser's shortest encoder context, ms, or null: the speech model's. */
  speechMinContextMs: number | null;
}

/** `crash`: a fault drill (WorkerPool.kill) asks the worker to die of an uncaught exception. */
export type ToWorker = { type: 'run'; id: number; segments: RoutedInput[] } | { type: 'crash'; reason: string };

export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type FromWorker =
  | { type: 'ready'; provider: string; attempts: ProviderAttempt[] }
  | { type: 'fatal'; error: WireError }
  | { type: 'done'; id: number; valence: Float32Array; alpha: Float32Array; routes: TextRoute[]; textMs: number; fusionMs: number; speechMs: number }
  | { type: 'failed'; id: number; error: WireError };
