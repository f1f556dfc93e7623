/**
 * Prometheus metrics of the data path (prom-client). One registry per process (per test, when a
 * test builds its own app), so tests never see each other's counts.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface PipelineMetrics {
  registry: Registry;
  chunksAccepted: Counter<'modality'>;
  /** Dead letters written (copies and references), by code: only letters that exist. */
  deadLetters: Counter<'code'>;
  /** Of those, letters written as a reference (the copy would not fit the broker), by code. */
  deadLetterReferences: Counter<'code'>;
  /** Attempts to write a dead letter that failed (retried; the record is not released meanwhile), by code. */
  deadLetterFailures: Counter<'code'>;
  segmentsScored: Counter<'text' | 'result'>;
  segmentsFailed: Counter<'code'>;
  /** Segments dropped before storing because their partition was revoked (the new owner scores them). */
  segmentsRevoked: Counter;
  /** Chunks skipped at hand-over because an earlier owner already scored their media, by reason. */
  chunksSkipped: Counter<'reason'>;
  /** Hand-over decisions (replay | cut) and replayed segments found stored (suppressed | mismatch). */
  handover: Counter<'event'>;
  /** Commit holds given up (the call's hand-over is then approximate), by reason: span | records | early-seal | shutdown. */
  holdsGivenUp: Counter<'reason'>;
  /** API sockets refused, by reason: origin, source_limit (upgrade answered 403 / 429), tenant_limit (closed 1013). */
  socketsRefused: Counter<'reason'>;
  /** Calls the window closed itself (no call_end), by code (CALL_IDLE_TIMEOUT). */
  callsClosed: Counter<'code'>;
  storeErrors: Counter<'code'>;
  /** Store writes refused by ownership fencing (STORE_FENCED), by what was written: score | call. */
  writesFenced: Counter<'what'>;
  /** Text-missing segments with audio, by what the speech path did (recognised, or why not). */
  speechRoute: Counter<'outcome'>;
  /** Seconds from a segment being sealed to its score stored. */
  scoreLatency: Histogram;
  /** Seconds spent scoring + storing one segment (excludes queueing behind its call). */
  pipelineLatency: Histogram;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(opts: { defaults?: boolean } = {}): PipelineMetrics {
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    chunksAccepted: new Counter({ name: 'chunks_accepted_total', help: 'Chunks that passed decoding, by modality', labelNames: ['modality'], registers: r }),
    deadLetters: new Counter({ name: 'dead_letters_total', help: 'Dead letters written (copy or reference), by error code', labelNames: ['code'], registers: r }),
    deadLetterReferences: new Counter({ name: 'dead_letter_references_total', help: 'Dead letters written as a reference because the copy would not fit the broker, by error code', labelNames: ['code'], registers: r }),
    deadLetterFailures: new Counter({ name: 'dead_letter_failures_total', help: 'Failed attempts to write a dead letter (retried), by error code', labelNames: ['code'], registers: r }),
    segmentsScored: new Counter({ name: 'segments_scored_total', help: 'Segments scored and stored, by text state and store result', labelNames: ['text', 'result'], registers: r }),
    segmentsRevoked: new Counter({ name: 'segments_revoked_total', help: 'Segments dropped unstored because their partition was revoked mid-flight', registers: r }),
    callsClosed: new Counter({ name: 'calls_closed_by_window_total', help: 'Calls closed without call_end (idle timeout), by code', labelNames: ['code'], registers: r }),
    chunksSkipped: new Counter({ name: 'chunks_skipped_total', help: 'Chunks skipped at hand-over (already scored by the previous owner), by reason', labelNames: ['reason'], registers: r }),
    handover: new Counter({ name: 'handover_events_total', help: 'Calls met in storage by how they continue (replay: from their first record, exact; cut: from the stored cut), and replayed segments found stored (suppressed; mismatch: stored with another span)', labelNames: ['event'], registers: r }),
    holdsGivenUp: new Counter({ name: 'commit_holds_given_up_total', help: 'Commit holds on a call\'s first record given up before its end (its hand-over is then approximate), by reason', labelNames: ['reason'], registers: r }),
    socketsRefused: new Counter({ name: 'api_sockets_refused_total', help: 'API WebSockets refused, by reason: origin (upgrade 403), source_limit (upgrade 429), tenant_limit (closed 1013 at connection_init)', labelNames: ['reason'], registers: r }),
    segmentsFailed: new Counter({ name: 'segments_failed_total', help: 'Segments given up after scoring errors, by code', labelNames: ['code'], registers: r }),
    writesFenced: new Counter({ name: 'store_writes_fenced_total', help: 'Store writes refused because another instance owns the partition now (STORE_FENCED), by what', labelNames: ['what'], registers: r }),
    speechRoute: new Counter({ name: 'speech_route_total', help: 'Text-missing segments with audio, by speech-path outcome: recognised, or the fallback to simulated text (disabled, queue_full, deadline, no_words, error)', labelNames: ['outcome'], registers: r }),
    storeErrors: new Counter({ name: 'store_errors_total', help: 'Store operations that failed (and were retried), by code', labelNames: ['code'], registers: r }),
    scoreLatency: new Histogram({ name: 'segment_seal_to_store_seconds', help: 'Seconds from segment sealed to score stored', buckets: LATENCY_BUCKETS, registers: r }),
    pipelineLatency: new Histogram({ name: 'segment_score_store_seconds', help: 'Seconds scoring and storing one segment', buckets: LATENCY_BUCKETS, registers: r }),
  };
}
