/**
 * Windowing options: every bound and threshold of the window stage, with its unit, default and
 * overflow policy. Validated once, when the Windower is built.
 */

/** Energy VAD thresholds (see vad.ts for why each exists). */
export interface VadOptions {
  /** Analysis frame, ms. Default 20. */
  frameMs: number;
  /** Absolute floor: frames quieter than this are never speech, dBFS. Default -50. */
  minDb: number;
  /** Frames louder than this are speech whatever the noise floor, dBFS. Default -30. */
  loudDb: number;
  /** Speech must exceed the noise floor by this much, dB. Default 9. */
  marginDb: number;
  /** The noise floor is the quietest frame of this trailing window, ms. Default 2000. */
  noiseWindowMs: number;
  /** Speech must last this long before a segment starts, ms. Default 60. */
  minSpeechMs: number;
  /** Silence this long ends speech (hangover), ms. Default 800: call-centre turns hold several
   *  sentences with 400-720 ms pauses between them, and a shorter hangover cuts a turn there
   *  before its transcript arrives (docs/benchmarks.md, "Why segments miss their transcript").
   *  The `end-of-speech` preset keeps 400 ms (LATENCY_PRESETS). */
  hangoverMs: number;
  /** Silence this long ends a talk span (talk analytics: talk time, silence, overlaps,
   *  interruptions), ms; speech intervals above still run to hangoverMs. Default 400. */
  talkHangoverMs: number;
  /** Added before and after each speech interval, ms. Default 100. */
  padMs: number;
}

export interface WindowOptions {
  /** Model sample rate, Hz (manifest audio.sampleRate); decoded audio must have it. Default 16000. */
  sampleRate: number;
  /** Longest segment, ms (manifest audio.maxSamples / sampleRate x 1000). Default 12000. */
  maxSegmentMs: number;
  /** Speech-only remainders shorter than this are released without a segment, ms. Default 300. */
  minSegmentMs: number;
  /** Segment length on channels with neither audio nor transcripts (video only), ms. Default 5000. */
  fixedWindowMs: number;
  /** Most video frames in one segment (manifest video.maxFrames); more are subsampled evenly. Default 120. */
  maxVideoFrames: number;
  /** Watermark of a channel = its newest media end - this, ms. Older media is CHUNK_TOO_LATE. Default 1000. */
  allowedLatenessMs: number;
  /** How far one channel's media may lag the call's newest media (another leg) before the call's
   *  watermark overrides its own, ms. Default 5000. */
  maxChannelSkewMs: number;
  /** A segment is sealed when the watermark passes its end + this, ms, so the transcript usually
   *  lands first. 0 seals as early as possible and lets late transcripts make revisions. Default 1000. */
  transcriptWaitMs: number;
  /** An utterance with no final piece counts as complete once the horizon passes its last piece by this, ms. Default 5000. */
  utteranceTimeoutMs: number;
  /** A call that sent nothing for this long (wall clock) is closed TIMED_OUT, ms. Default 30000. */
  idleTimeoutMs: number;
  /** Out-of-order chunks held per (call, channel, modality) waiting for a gap to fill. When more are
   *  held, the gap is given up (the missing seq is then CHUNK_OUT_OF_ORDER if it comes). Default 16. */
  reorderWindow: number;
  /** Open a call on its first media chunk when no call_start was seen (restarts, lost control
   *  records). false: such chunks are CHUNK_UNKNOWN_CALL. Default true. */
  autoOpenCalls: boolean;
  /** Open calls. Policy `evict-idlest`: opening one more closes the least recently active call
   *  as TIMED_OUT (CALL_IDLE_TIMEOUT). Default 10000. */
  maxOpenCalls: number;
  /** Channels per call. Policy `reject`: a chunk on one more channel is WINDOW_BUFFER_FULL. Default 8. */
  maxChannelsPerCall: number;
  /** Unsealed event time per channel, ms. Policy `force-seal`: when exceeded, the oldest half is
   *  sealed without waiting for the watermark. Default 60000. */
  maxBufferedMs: number;
  /** Unsealed media held by all open calls of one window together: audio buffer room (samples,
   *  with the space of sealed ones not reclaimed yet) plus video floats. Policy `seal-largest` (per-call release): when exceeded, the call holding the most is
   *  sealed up to its watermark (as a late chunk could not land there anyway) without waiting for
   *  its transcripts, so its chunks are released once scored; late transcripts then revise.
   *  Default 24,000,000 (25 min of 16 kHz audio, ~96 MB). docs/lifecycle.md: flow control. */
  maxOpenSamples: number;
  /** Unsealed records (chunks whose refs wait for a seal) held by all open calls together.
   *  Policy `seal-largest`, as for maxOpenSamples. Default 200,000. */
  maxOpenChunks: number;
  /** Audio gaps up to this are filled with silence, ms; a longer jump seals what came before and
   *  starts afresh. Default 5000. */
  maxGapMs: number;
  /** Unsealed transcript pieces per channel. Policy `reject`: one more is WINDOW_BUFFER_FULL. Default 256. */
  maxPendingText: number;
  /** Sealed segments kept per channel for late transcripts. Policy `drop-oldest`. Default 8. */
  historySize: number;
  /** Audio samples plus video floats kept in all histories together. Policy `drop-oldest`
   *  (globally). Default 48,000,000 (50 min of 16 kHz audio, ~183 MiB, used only as segments
   *  are sealed): twice maxOpenSamples, since what the open budget seals early waits here for
   *  its transcripts (a 1,000-call flood lost 16 late ones at 24,000,000, none at this). */
  historyBudget: number;
  /** How long a closed call still takes late transcripts, ms (wall clock). Default 30000. */
  lateTextGraceMs: number;
  /** Closed calls remembered, with their history while in grace, then as ids only (stray chunks ->
   *  CHUNK_UNKNOWN_CALL). Policy `drop-oldest` for each of the two. Default 10000. */
  maxClosedCalls: number;
  /** Work budget per chunk, in cutting steps of min(maxSegmentMs, fixedWindowMs). Policy
   *  `reject` (WINDOW_WORK_BUDGET): a chunk whose span would cost more is refused whole, before it
   *  changes any state. Default 16 (80 s at the default 5 s step; the contract allows 60 s). */
  maxStepsPerChunk: number;
  vad: VadOptions;
}

export const DEFAULT_VAD: VadOptions = { frameMs: 20, minDb: -50, loudDb: -30, marginDb: 9, noiseWindowMs: 2000, minSpeechMs: 60, hangoverMs: 800, talkHangoverMs: 400, padMs: 100 };

export const DEFAULT_WINDOW_OPTIONS: WindowOptions = {
  sampleRate: 16000,
  maxSegmentMs: 12000,
  minSegmentMs: 300,
  fixedWindowMs: 5000,
  maxVideoFrames: 120,
  allowedLatenessMs: 1000,
  maxChannelSkewMs: 5000,
  transcriptWaitMs: 1000,
  utteranceTimeoutMs: 5000,
  idleTimeoutMs: 30000,
  reorderWindow: 16,
  autoOpenCalls: true,
  maxOpenCalls: 10000,
  maxChannelsPerCall: 8,
  maxBufferedMs: 60000,
  maxOpenSamples: 24_000_000,
  maxOpenChunks: 200_000,
  maxGapMs: 5000,
  maxPendingText: 256,
  historySize: 8,
  historyBudget: 48_000_000,
  lateTextGraceMs: 30000,
  maxClosedCalls: 10000,
  maxStepsPerChunk: 16,
  vad: DEFAULT_VAD,
};

export type WindowOptionsInput = Partial<Omit<WindowOptions, 'vad'>> & { vad?: Partial<VadOptions> };

/**
 * Named latency settings (LATENCY_PRESET; docs/lifecycle.md, "Latency or revisions"). A segment
 * is sealed once its channel's newest media end passes its end + allowedLatenessMs +
 * transcriptWaitMs, and not before the VAD has seen the speech end (vad.hangoverMs of silence,
 * less the padMs the segment's end already holds), so these set the delay from the end of an
 * utterance to its first score.
 * - `balanced` (the defaults): 1 s lateness + 1 s transcript wait; a platform transcript that
 *   comes within ~1 s of the utterance's end is in the first score (no revision). The 800 ms
 *   hangover costs nothing here (800 - 100 < 2,000) and keeps a multi-sentence turn in one
 *   segment, so its transcript finds it.
 * - `end-of-speech`: no transcript wait, 250 ms lateness, and a 400 ms hangover: the segment is
 *   scored as soon as the VAD has seen 400 ms of silence, usually before its transcript; the
 *   transcript then makes revision 1. The hangover is this preset's floor on latency (seal at
 *   hangover - pad = 300 ms past the end), so it keeps the short one: 800 ms would seal every
 *   segment 300-400 ms later (p50 700 ms past its end, test/window/transcript-miss.test.ts), past
 *   the 500 ms this preset is for. The price: a turn's 400-800 ms pauses cut it, and each piece
 *   is revised when the turn's transcript lands. Chunks of a channel arriving over 250 ms
 *   behind its newest are CHUNK_TOO_LATE.
 */
export const LATENCY_PRESETS = {
  balanced: {},
  'end-of-speech': { transcriptWaitMs: 0, allowedLatenessMs: 250, vad: { hangoverMs: 400 } },
} as const satisfies Record<string, WindowOptionsInput>;

export type LatencyPreset = keyof typeof LATENCY_PRESETS;

/** A preset under explicit options: `input` wins, its `vad` merged key by key over the preset's. */
export function withPreset(preset: LatencyPreset, input: WindowOptionsInput = {}): WindowOptionsInput {
  const p: WindowOptionsInput = LATENCY_PRESETS[preset];
  return { ...p, ...input, vad: { ...p.vad, ...input.vad } };
}

/** Merges with the defaults and checks every value; throws RangeError naming the bad option. */
export function resolveWindowOptions(input: WindowOptionsInput = {}): WindowOptions {
  const o: WindowOptions = { ...DEFAULT_WINDOW_OPTIONS, ...input, vad: { ...DEFAULT_VAD, ...input.vad } };
  const positive: (keyof WindowOptions)[] = [
    'sampleRate', 'maxSegmentMs', 'fixedWindowMs', 'maxVideoFrames', 'idleTimeoutMs', 'reorderWindow', 'maxOpenCalls',
    'maxChannelsPerCall', 'maxBufferedMs', 'maxPendingText', 'historySize', 'historyBudget', 'maxClosedCalls', 'utteranceTimeoutMs', 'maxStepsPerChunk',
    'maxOpenSamples', 'maxOpenChunks',
  ];
  for (const k of positive) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`window option ${k} must be > 0, got ${String(v)}`);
  }
  const nonNegative: (keyof WindowOptions)[] = ['minSegmentMs', 'allowedLatenessMs', 'maxChannelSkewMs', 'transcriptWaitMs', 'maxGapMs', 'lateTextGraceMs'];
  for (const k of nonNegative) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`window option ${k} must be >= 0, got ${String(v)}`);
  }
  if (o.minSegmentMs >= o.maxSegmentMs) throw new RangeError('window option minSegmentMs must be < maxSegmentMs');
  if (o.maxBufferedMs < 2 * o.maxSegmentMs) throw new RangeError('window option maxBufferedMs must be >= 2 x maxSegmentMs');
  const v = o.vad;
  if (!(v.frameMs > 0 && v.minSpeechMs >= 0 && v.hangoverMs >= 0 && v.talkHangoverMs >= 0 && v.padMs >= 0 && v.marginDb >= 0 && v.minDb < 0 && v.loudDb > v.minDb && v.noiseWindowMs >= v.frameMs)) {
    throw new RangeError(`window vad options are invalid: ${JSON.stringify(v)}`);
  }
  if (((o.sampleRate * v.frameMs) / 1000) % 1 !== 0) throw new RangeError('window vad.frameMs must be a whole number of samples');
  return o;
}
