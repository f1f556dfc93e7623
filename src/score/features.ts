/**
 * Builds the fusion graph's inputs for one micro-batch from segments: padded PCM with lengths,
 * text embeddings with masks, video frames with masks, presence flags. Tensor sizes come from
 * the manifest: a dim the graph fixes is padded to that size, a dynamic one to the batch's longest
 * row. No onnxruntime here, so the rules are testable on their own.
 *
 * Longer than the graph allows: the window stage cuts segments to the manifest's limits; as a
 * safety net the first `audio.maxSamples` samples and `video.maxFrames` frames are kept.
 */
import type { ModalityFlags, Segment } from '../core/types.js';
import { AppError } from '../core/errors.js';
import type { ModelManifest, TensorSpec } from './manifest.js';
import type { TextTokenizer, TokenBatch } from './tokenizer.js';

/** The part of a Segment the model reads; what crosses to a worker thread. */
export type SegmentInput = Pick<Segment, 'audio' | 'text' | 'video' | 'videoFrames'>;

/** A tensor before it becomes an ort.Tensor: row-major data and its dims. */
export interface HostTensor {
  dtype: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: number[];
}

/** True when the segment carries transcript text the text encoder should see. */
export function hasText(s: SegmentInput): boolean {
  return s.text !== null && s.text.trim().length > 0;
}

export function hasAudio(s: SegmentInput): boolean {
  return s.audio !== null && s.audio.length > 0;
}

/** True when at least one video frame carries a face (see {@link frameMask}). */
export function hasVideo(s: SegmentInput, m: ModelManifest): boolean {
  if (s.video === null || s.videoFrames <= 0) return false;
  return frameMask(s, m).some((x) => x === 1);
}

/**
 * Which modalities a score rests on. Text missing is SIMULATED when audio or video is present:
 * the model's text simulator reads the audio and video frames (models/sdumc/model.py, `sim_on`
 * needs one valid frame of either), and alpha then weighs the simulated text. With neither,
 * text is MISSING (and the segment has nothing to score: see validateSegment).
 */
export function modalityFlags(s: SegmentInput, m: ModelManifest): ModalityFlags {
  const audio = hasAudio(s);
  const video = hasVideo(s, m);
  return {
    text: hasText(s) ? 'PRESENT' : audio || video ? 'SIMULATED' : 'MISSING',
    audio: audio ? 'PRESENT' : 'MISSING',
    video: video ? 'PRESENT' : 'MISSING',
  };
}

/**
 * Per-frame mask (1 = a face), for the first min(videoFrames, maxFrames) frames. A frame is masked
 * when it is all zeros (the face pipeline's "no face"), has a non-finite value, or — when the
 * manifest names a confidence feature — its confidence is <= 0.
 */
export function frameMask(s: SegmentInput, m: ModelManifest): Uint8Array {
  const d = m.video.featureDim;
  const n = s.video === null ? 0 : Math.min(s.videoFrames, m.video.maxFrames);
  const mask = new Uint8Array(n);
  for (let f = 0; f < n; f++) {
    let any = false;
    let finite = true;
    for (let j = 0; j < d; j++) {
      const x = s.video![f * d + j];
      if (!Number.isFinite(x)) finite = false;
      else if (x !== 0) any = true;
    }
    const ci = m.video.confidenceIndex;
    const confident = ci === undefined || s.video![f * d + ci] > 0;
    mask[f] = any && finite && confident ? 1 : 0;
  }
  return mask;
}

/** Rejects a segment the model cannot read or that carries nothing to score (SCORER_BAD_SEGMENT), before it joins a batch. */
export function validateSegment(s: SegmentInput, m: ModelManifest): void {
  if (s.video !== null) {
    if (!Number.isInteger(s.videoFrames) || s.videoFrames < 0) {
      throw new AppError('SCORER_BAD_SEGMENT', { reason: `videoFrames ${s.videoFrames} is not a count` });
    }
    if (s.video.length !== s.videoFrames * m.video.featureDim) {
      throw new AppError('SCORER_BAD_SEGMENT', {
        reason: `video has ${s.video.length} values, expected videoFrames ${s.videoFrames} x featureDim ${m.video.featureDim}`,
      });
    }
  }
  if (s.audio !== null && !(s.audio instanceof Float32Array)) {
    throw new AppError('SCORER_BAD_SEGMENT', { reason: 'audio must be a Float32Array at the model sample rate' });
  }
  // With no modality at all, alpha has nothing to weigh and valence would be the model's bias.
  if (!hasText(s) && !hasAudio(s) && !hasVideo(s, m)) {
    throw new AppError('SCORER_BAD_SEGMENT', { reason: 'segment has no text, audio or video (with a face) to score' });
  }
}

/** Rows of the batch that have text, and their tokens (null when no row has text). */
export interface TextPlan {
  rows: number[];
  batch: TokenBatch;
}

/** Tokenises the rows with text. Token width: the graphs' fixed dim if any, else the longest row. */
export function planText(segs: SegmentInput[], tok: TextTokenizer, m: ModelManifest): TextPlan | null {
  const rows = segs.map((s, i) => (hasText(s) ? i : -1)).filter((i) => i >= 0);
  if (rows.length === 0) return null;
  const fixed = fixedDim(m.graphs.textEncoder.inputs, 'text.input_ids', 1) ?? fixedDim(m.graphs.fusion.inputs, 'text.embeddings', 1);
  return { rows, batch: tok.encodeBatch(rows.map((i) => segs[i].text!), fixed) };
}

/** The text encoder's inputs by role, for a plan. */
export function textEncoderInputs(plan: TextPlan): Record<string, HostTensor> {
  const dims = [plan.batch.rows, plan.batch.tokens];
  return {
    'text.input_ids': { dtype: 'int64', data: plan.batch.inputIds, dims },
    'text.attention_mask': { dtype: 'int64', data: plan.batch.attentionMask, dims },
    'text.token_type_ids': { dtype: 'int64', data: plan.batch.tokenTypeIds, dims },
  };
}

/**
 * The fusion graph's inputs by role. `embeddings` is the text encoder's output for `plan.rows`,
 * shape [plan.rows.length, plan.batch.tokens, text.dim]; rows without text get zeros and mask 0.
 */
export function fusionInputs(segs: SegmentInput[], m: ModelManifest, plan: TextPlan | null, embeddings: Float32Array | null): Record<string, HostTensor> {
  const B = segs.length;
  const ins = m.graphs.fusion.inputs;
  return {
    ...audioInputs(segs, m, ins),
    ...textInputs(B, m, ins, plan, embeddings),
    ...videoInputs(segs, m, ins),
    presence: presenceTensor(segs, m),
  };
}

function audioInputs(segs: SegmentInput[], m: ModelManifest, ins: TensorSpec[]): Record<string, HostTensor> {
  const B = segs.length;
  const lens = segs.map((s) => (s.audio === null ? 0 : Math.min(s.audio.length, m.audio.maxSamples)));
  // A log-mel front-end needs at least one window of samples even when every row is silent.
  const fe = m.audio.frontEnd ?? {};
  const floor = Math.max(1, Number(fe.nFft ?? 0) || 0, Number(fe.winLength ?? 0) || 0);
  const S = fixedDim(ins, 'audio.pcm', 1) ?? Math.min(m.audio.maxSamples, Math.max(floor, ...lens));
  const pcm = new Float32Array(B * S);
  const length = new BigInt64Array(B);
  segs.forEach((s, i) => {
    const n = Math.min(lens[i], S);
    if (n > 0) pcm.set(s.audio!.subarray(0, n), i * S);
    length[i] = BigInt(n);
  });
  return {
    'audio.pcm': { dtype: 'float32', data: pcm, dims: [B, S] },
    'audio.length': { dtype: 'int64', data: length, dims: [B] },
  };
}

function textInputs(B: number, m: ModelManifest, ins: TensorSpec[], plan: TextPlan | null, emb: Float32Array | null): Record<string, HostTensor> {
  const D = m.text.dim;
  const T = fixedDim(ins, 'text.embeddings', 1) ?? plan?.batch.tokens ?? 1;
  const out = new Float32Array(B * T * D);
  const mask = new Float32Array(B * T);
  if (plan && emb) {
    const Tp = plan.batch.tokens;
    if (emb.length !== plan.rows.length * Tp * D) {
      throw new AppError('SCORER_FAILED', { reason: `text encoder returned ${emb.length} values, expected ${plan.rows.length}x${Tp}x${D}` });
    }
    const n = Math.min(T, Tp);
    plan.rows.forEach((row, r) => {
      // Padding positions stay zero, as in training (emb * mask), whatever the encoder put there.
      for (let t = 0; t < n; t++) {
        if (plan.batch.attentionMask[r * Tp + t] === 0n) continue;
        out.set(emb.subarray((r * Tp + t) * D, (r * Tp + t + 1) * D), (row * T + t) * D);
        mask[row * T + t] = 1;
      }
    });
  }
  return {
    'text.embeddings': { dtype: 'float32', data: out, dims: [B, T, D] },
    'text.mask': { dtype: 'float32', data: mask, dims: [B, T] },
  };
}

function videoInputs(segs: SegmentInput[], m: ModelManifest, ins: TensorSpec[]): Record<string, HostTensor> {
  const B = segs.length;
  const D = m.video.featureDim;
  const counts = segs.map((s) => (s.video === null ? 0 : Math.min(s.videoFrames, m.video.maxFrames)));
  const F = fixedDim(ins, 'video.frames', 1) ?? Math.max(1, ...counts);
  const frames = new Float32Array(B * F * D);
  const mask = new Float32Array(B * F);
  segs.forEach((s, i) => {
    const fm = frameMask(s, m);
    for (let f = 0; f < Math.min(fm.length, F); f++) {
      if (!fm[f]) continue; // masked frames stay zero so a NaN never reaches the graph
      frames.set(s.video!.subarray(f * D, (f + 1) * D), (i * F + f) * D);
      mask[i * F + f] = 1;
    }
  });
  return {
    'video.frames': { dtype: 'float32', data: frames, dims: [B, F, D] },
    'video.mask': { dtype: 'float32', data: mask, dims: [B, F] },
  };
}

/** [B, 3] presence, order text, audio, video (1 present / 0 missing). */
function presenceTensor(segs: SegmentInput[], m: ModelManifest): HostTensor {
  const p = new Float32Array(segs.length * 3);
  segs.forEach((s, i) => {
    p[i * 3] = hasText(s) ? 1 : 0;
    p[i * 3 + 1] = hasAudio(s) ? 1 : 0;
    p[i * 3 + 2] = hasVideo(s, m) ? 1 : 0;
  });
  return { dtype: 'float32', data: p, dims: [segs.length, 3] };
}

/** The size a graph fixes for `axis` of the tensor with `role`, or undefined when it is dynamic. */
export function fixedDim(specs: TensorSpec[], role: string, axis: number): number | undefined {
  const d = specs.find((t) => t.role === role)?.dims[axis];
  return typeof d === 'number' ? d : undefined;
}
