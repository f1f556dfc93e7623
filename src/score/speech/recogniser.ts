/**
 * Whisper tiny.en on onnxruntime-node: log-mel -> encoder on a context trimmed to the segment
 * (or at least `minContextSeconds`) -> greedy decoding with a self-attention KV cache -> text.
 * Returns the segment's encoder frames too (the future text simulator's input).
 *
 * Blocking work (the mel and both graphs run synchronously on the calling thread's CPU): use it
 * on a scoring worker thread (src/score/worker.ts), like ModelRunner. One instance runs one
 * segment at a time; it holds no per-segment state between calls.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { AppError } from '../../core/errors.js';
import { Greedy, tokenBudget, type StopReason } from './greedy.js';
import { loadSpeechManifest, type SpeechManifest } from './manifest.js';
import { encoderFrames, logMel, SAMPLE_RATE, SAMPLES_PER_FRAME } from './mel.js';

/** Settings of one recogniser. */
export interface RecogniserOptions {
  /** Threads per onnxruntime session (default 1: one worker per core). */
  intraOpThreads?: number;
  /**
   * Shortest encoder context in seconds (default: the manifest's decode.minContextSeconds, 10;
   * 0 = trimmed to the segment). Shorter segments are followed by silence up to this length:
   * trimmed, Whisper often loops on short segments (WER 0.205 vs 0.117 at >= 10 s with
   * CTranslate2), at up to 5x the encoder cost for a 2 s segment (docs/benchmarks.md).
   */
  minContextSeconds?: number;
  /** Per-segment cap on generated tokens, below the manifest's maxNewTokens (default: that). */
  maxNewTokens?: number;
  /**
   * Other graph files with the same inputs and outputs (default: the manifest's int8 graphs).
   * For measurement only, e.g. the float graphs `python -m sdumc.speech.export --fp32` keeps.
   */
  graphPaths?: { encoder: string; decoder: string };
}

/** The encoder's output for one segment. */
export interface Encoded {
  /** The segment's encoder frames, row-major [frames, dim] (context padding excluded). */
  states: Float32Array;
  frames: number;
  dim: number;
  /** Encoder frames actually run (the context). */
  contextFrames: number;
  melMs: number;
  encoderMs: number;
}

export interface Recognition extends Encoded {
  /** Decoded words, special tokens removed (leading space as Whisper writes it, trimmed). */
  text: string;
  /** Generated token ids (no prompt, no end-of-text). */
  tokens: number[];
  stop: StopReason;
  decoderMs: number;
}

interface CrossKv {
  k: ort.Tensor;
  v: ort.Tensor;
}

export class SpeechRecogniser {
  private constructor(
    readonly manifest: SpeechManifest,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly minContextSamples: number,
    private readonly maxNewTokens: number,
  ) {}

  /** Loads the manifest of `dir` and opens both graphs on the CPU. Throws MODEL_MANIFEST_INVALID / MODEL_LOAD_FAILED. */
  static async open(dir: string, options: RecogniserOptions = {}): Promise<SpeechRecogniser> {
    const m = loadSpeechManifest(dir);
    const minContext = options.minContextSeconds ?? m.decode.minContextSeconds;
    const maxNew = options.maxNewTokens ?? m.decode.maxNewTokens;
    if (!(minContext >= 0 && minContext <= (m.mel.maxFrames * SAMPLES_PER_FRAME) / SAMPLE_RATE)) {
      throw new AppError('BAD_REQUEST', { reason: `minContextSeconds ${minContext} must be in 0..30` });
    }
    if (!Number.isInteger(maxNew) || maxNew < 1 || maxNew > m.decode.maxNewTokens) {
      throw new AppError('BAD_REQUEST', { reason: `maxNewTokens ${maxNew} must be an integer in 1..${m.decode.maxNewTokens}` });
    }
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    };
    let encoder: ort.InferenceSession | null = null;
    try {
      encoder = await ort.InferenceSession.create(options.graphPaths?.encoder ?? m.encoderPath, so);
      const decoder = await ort.InferenceSession.create(options.graphPaths?.decoder ?? m.decoderPath, so);
      const tokenizer = new Tokenizer(JSON.parse(readFileSync(m.tokenizerPath, 'utf8')) as Record<string, unknown>, {});
      return new SpeechRecogniser(m, encoder, decoder, tokenizer, Math.round(minContext * SAMPLE_RATE), maxNew);
    } catch (e) {
      await encoder?.release();
      throw new AppError('MODEL_LOAD_FAILED', { file: m.dir, provider: 'cpu', reason: (e as Error).message });
    }
  }

  /** Most samples one segment may have (the 30 s window). */
  get maxSamples(): number {
    return this.manifest.mel.maxFrames * SAMPLES_PER_FRAME;
  }

  /**
   * Checks a segment's audio: 16 kHz mono float samples, finite, 1 sample to 30 s.
   * Throws SPEECH_AUDIO_EMPTY, SPEECH_AUDIO_TOO_LONG or SPEECH_AUDIO_INVALID.
   */
  check(audio: Float32Array, sampleRate: number = SAMPLE_RATE): void {
    if (sampleRate !== SAMPLE_RATE) throw new AppError('SPEECH_AUDIO_INVALID', { reason: `sample rate ${sampleRate} Hz (the model needs ${SAMPLE_RATE})` });
    if (audio.length === 0) throw new AppError('SPEECH_AUDIO_EMPTY', { samples: 0 });
    if (audio.length > this.maxSamples) {
      throw new AppError('SPEECH_AUDIO_TOO_LONG', { seconds: (audio.length / SAMPLE_RATE).toFixed(2), maxSeconds: this.maxSamples / SAMPLE_RATE });
    }
    for (let i = 0; i < audio.length; i++) {
      if (!Number.isFinite(audio[i])) throw new AppError('SPEECH_AUDIO_INVALID', { reason: `sample ${i} is not finite` });
    }
  }

  /** Encoder only: the segment's frames (and the cross K/V the decoder would use). */
  async encode(audio: Float32Array, sampleRate: number = SAMPLE_RATE): Promise<Encoded> {
    return (await this.runEncoder(audio, sampleRate)).encoded;
  }

  /** Encoder and greedy decoding: words, tokens and the segment's encoder frames. */
  async recognise(audio: Float32Array, sampleRate: number = SAMPLE_RATE): Promise<Recognition> {
    const { encoded, cross } = await this.runEncoder(audio, sampleRate);
    const t0 = performance.now();
    const { tokens, stop } = await this.decode(cross, tokenBudget(audio.length / SAMPLE_RATE, this.manifest.decode, this.maxNewTokens));
    const text = this.tokenizer.decode(tokens, { skip_special_tokens: true }).trim();
    return { ...encoded, text, tokens, stop, decoderMs: performance.now() - t0 };
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }

  private async runEncoder(audio: Float32Array, sampleRate: number): Promise<{ encoded: Encoded; cross: CrossKv }> {
    this.check(audio, sampleRate);
    const d = this.manifest.dims;
    const t0 = performance.now();
    const context = Math.min(Math.max(audio.length, this.minContextSamples), this.maxSamples);
    const mel = logMel(audio, context, d.n_mels);
    const t1 = performance.now();
    const out = await this.encoder.run({ mel: new ort.Tensor('float32', mel.data, [1, d.n_mels, mel.melFrames]) });
    const t2 = performance.now();
    const all = out.states;
    const contextFrames = all.dims[1];
    const frames = encoderFrames(audio.length);
    if (contextFrames !== mel.melFrames / 2 || all.dims[2] !== d.n_audio_state) {
      throw new AppError('SCORER_FAILED', { reason: `speech encoder returned states [${all.dims.join(', ')}] for ${mel.melFrames} mel frames` });
    }
    const states = (all.data as Float32Array).slice(0, frames * d.n_audio_state);
    return {
      encoded: { states, frames, dim: d.n_audio_state, contextFrames, melMs: t1 - t0, encoderMs: t2 - t1 },
      cross: { k: out.cross_k, v: out.cross_v },
    };
  }

  private async decode(cross: CrossKv, limit: number): Promise<{ tokens: number[]; stop: StopReason }> {
    const d = this.manifest.dims;
    const t = this.manifest.tokens;
    const greedy = new Greedy(this.manifest, limit);
    const headDim = d.n_text_state / d.n_text_head;
    let pastK: ort.Tensor = new ort.Tensor('float32', new Float32Array(0), [d.n_text_layer, 1, d.n_text_head, 0, headDim]);
    let pastV = pastK;
    let input = [t.sot, t.noTimestamps];
    while (greedy.stop === null) {
      const past = pastK.dims[3];
      const out = await this.decoder.run({
        tokens: new ort.Tensor('int64', BigInt64Array.from(input, (x) => BigInt(x)), [1, input.length]),
        past_k: pastK,
        past_v: pastV,
        cross_k: cross.k,
        cross_v: cross.v,
        offset: new ort.Tensor('int64', BigInt64Array.of(BigInt(past)), [1]),
      });
      pastK = out.present_k;
      pastV = out.present_v;
      input = [greedy.step(out.logits.data as Float32Array)];
    }
    return { tokens: greedy.tokens, stop: greedy.stop };
  }
}
