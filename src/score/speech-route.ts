/**
 * The speech path of a scoring worker: a segment with audio whose transcript had not arrived when
 * it was scored gets words from the speech recogniser (Whisper tiny.en, src/score/speech), and the
 * real text encoder reads those words as if they were the transcript (route (c) of issue 12:
 * measured r 0.36 against 0.05 for the simulated text on held-out voices).
 *
 * Runs on the worker thread (blocking, like ModelRunner). What it does not do falls back to the
 * model's simulated text, and says why: the main thread already decided the segment may not
 * queue (`disabled`, `queue_full`), its deadline would pass before the words come (`deadline`,
 * judged from the segment's audio length and this worker's measured cost per audio-second), the
 * recogniser heard no words (`no_words`), or it failed on this audio (`error`).
 */
import { resample } from '../ingest/resample.js';
import type { SpeechFallback, TextSource } from '../core/types.js';
import { hasAudio, hasText, hasVideo, type SegmentInput } from './features.js';
import type { ModelManifest } from './manifest.js';
import { SAMPLE_RATE } from './speech/mel.js';
import type { SpeechRecogniser } from './speech/recogniser.js';

/** What the main thread attaches to a text-missing segment with audio (protocol.ts carries it). */
export interface SpeechTicket {
  /** Wall-clock ms (Date.now) by which the words must be ready; later, the segment is simulated. */
  deadlineWallMs: number;
}

/** A segment as it crosses to the worker: the model's inputs plus the speech decision. */
export interface RoutedInput extends SegmentInput {
  /** A ticket to recognise; null with the reason when the main thread said no. Absent: not asked. */
  speech?: { ticket: SpeechTicket } | { fallback: SpeechFallback };
}

/** Where one row's text came from. */
export interface TextRoute {
  source: TextSource;
  recognisedText: string | null;
  fallback: SpeechFallback | null;
  /** Recogniser time for this row, ms (0 when it did not run). */
  speechMs: number;
}

/**
 * Seconds a segment is charged for: its length, but at least 2 s, because the encoder runs on at
 * least 10 s of context (manifest decode.minContextSeconds), so a short segment costs about what
 * a 2 s one does, not a fraction of it (docs/benchmarks.md, Speech model).
 */
function costSeconds(samples: number): number {
  return Math.max(samples / SAMPLE_RATE, 2);
}

/** Cost prior before this worker has measured any (ms per audio-second, docs/benchmarks.md: 48-108). */
const PRIOR_MS_PER_AUDIO_S = 110;

export class SpeechRoute {
  /** Running estimate of this worker's recogniser cost, ms per audio-second (slowest-leaning). */
  private msPerAudioS = PRIOR_MS_PER_AUDIO_S;

  constructor(
    private readonly recogniser: SpeechRecogniser | null,
    private readonly manifest: ModelManifest,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The rows as the model should read them (text filled in where recognised) and where each
   * row's text came from. Recognises rows one at a time, in order.
   */
  async route(rows: RoutedInput[]): Promise<{ inputs: SegmentInput[]; routes: TextRoute[] }> {
    const inputs: SegmentInput[] = [];
    const routes: TextRoute[] = [];
    for (const r of rows) {
      const input: SegmentInput = { audio: r.audio, text: r.text, video: r.video, videoFrames: r.videoFrames };
      const route = await this.routeOne(r);
      inputs.push(route.source === 'RECOGNISED' ? { ...input, text: route.recognisedText } : input);
      routes.push(route);
    }
    return { inputs, routes };
  }

  private async routeOne(r: RoutedInput): Promise<TextRoute> {
    if (hasText(r)) return { source: 'PLATFORM', recognisedText: null, fallback: null, speechMs: 0 };
    const simulated = (fallback: SpeechFallback | null): TextRoute => ({
      source: hasAudio(r) || hasVideo(r, this.manifest) ? 'SIMULATED' : 'NONE', recognisedText: null, fallback, speechMs: 0,
    });
    if (!hasAudio(r)) return simulated(null);
    if (!r.speech) return simulated(null);
    if ('fallback' in r.speech) return simulated(r.speech.fallback);
    if (!this.recogniser) return simulated('disabled');
    const rate = this.manifest.audio.sampleRate;
    const audio = rate === SAMPLE_RATE ? r.audio! : resample(r.audio!, rate, SAMPLE_RATE);
    const seconds = costSeconds(audio.length);
    if (this.now() + this.msPerAudioS * seconds > r.speech.ticket.deadlineWallMs) return simulated('deadline');
    const t0 = performance.now();
    let text: string;
    try {
      // The recogniser takes at most 30 s; the window cuts segments to the fusion model's
      // maxSamples (12 s for sdumc-v1), so only a differently configured model meets the cap.
      text = (await this.recogniser.recognise(audio.length > this.recogniser.maxSamples ? audio.subarray(0, this.recogniser.maxSamples) : audio)).text;
    } catch {
      return simulated('error');
    }
    const ms = performance.now() - t0;
    this.learn(ms, seconds); // seconds >= 2 (costSeconds)
    if (text.trim().length === 0) return { ...simulated('no_words'), speechMs: ms };
    return { source: 'RECOGNISED', recognisedText: text, fallback: null, speechMs: ms };
  }

  /**
   * Updates the cost estimate: up by half the gap to a slower observation, down by a tenth to a
   * faster one, so it leans pessimistic without one looping decode (2-3x the usual cost,
   * docs/benchmarks.md) shedding the segments behind it for long.
   */
  private learn(ms: number, seconds: number): void {
    const rate = ms / seconds;
    this.msPerAudioS += (rate - this.msPerAudioS) / (rate > this.msPerAudioS ? 2 : 10);
  }
}
