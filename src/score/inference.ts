/**
 * The two onnxruntime sessions of one worker and one micro-batch through them:
 * tokenise -> text encoder (rows with text only) -> fusion. Tensors are bound by role, with
 * names taken from the manifest. Blocking: call it only on a worker thread (see worker.ts).
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../core/errors.js';
import type { ModelManifest, TensorSpec } from './manifest.js';
import { TextTokenizer } from './tokenizer.js';
import { fixedDim, fusionInputs, planText, textEncoderInputs, type HostTensor, type SegmentInput, type TextPlan } from './features.js';
import { openWithFallback, type ProviderAttempt } from './providers.js';

/** Session settings. */
export interface RunnerOptions {
  /** Providers to try in order (see providers.ts). */
  providers: string[];
  /** Threads per session for one operator (default 1: one worker per core scales better on 2 cores). */
  intraOpThreads?: number;
  /**
   * Most transcripts per text-encoder run (default 1). The int8 text encoder quantises its
   * activations with one scale per run, so a text's embeddings move with its run mates (up to
   * ~0.6 absolute measured on sdumc-v1) and with their padding. At 1, a segment's score does not
   * depend on which other calls shared its micro-batch: reproducible, and no cross-call influence.
   * On CPU batching the encoder gains little (compute-bound), see docs/benchmarks.md.
   */
  textBatch?: number;
}

/** Outputs for a batch of B rows: valence [B], alpha [B*3] (text, audio, video), beta [B*7] or null. */
export interface BatchOutput {
  valence: Float32Array;
  alpha: Float32Array;
  beta: Float32Array | null;
  /** Milliseconds spent in tokenise+text encoder and in fusion. */
  textMs: number;
  fusionMs: number;
}

export class ModelRunner {
  private constructor(
    readonly manifest: ModelManifest,
    private readonly tokenizer: TextTokenizer,
    private readonly textSession: ort.InferenceSession,
    private readonly fusionSession: ort.InferenceSession,
    /** The provider both sessions run on. */
    readonly provider: string,
    /** Every provider tried, in order. */
    readonly attempts: ProviderAttempt[],
    private readonly textBatch: number,
  ) {}

  /** Opens both graphs on the first provider that loads both. Throws MODEL_LOAD_FAILED. */
  static async open(manifest: ModelManifest, options: RunnerOptions): Promise<ModelRunner> {
    const textBatch = options.textBatch ?? 1;
    if (!Number.isInteger(textBatch) || textBatch < 1) throw new AppError('BAD_REQUEST', { reason: `textBatch ${textBatch} must be an integer >= 1` });
    const tokenizer = new TextTokenizer(manifest.text.tokenizerPath, manifest.text.maxTokens);
    const so = (provider: string): ort.InferenceSession.SessionOptions => ({
      executionProviders: [provider],
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    try {
      const { value, provider, attempts } = await openWithFallback(options.providers, async (p) => {
        const text = await ort.InferenceSession.create(manifest.graphs.textEncoder.path, so(p));
        try {
          return [text, await ort.InferenceSession.create(manifest.graphs.fusion.path, so(p))] as const;
        } catch (e) {
          await text.release();
          throw e;
        }
      });
      const runner = new ModelRunner(manifest, tokenizer, value[0], value[1], provider, attempts, textBatch);
      try {
        runner.checkNames();
      } catch (e) {
        await runner.release();
        throw e;
      }
      return runner;
    } catch (e) {
      if (e instanceof AppError) throw e;
      const attempts = (e as { attempts?: ProviderAttempt[] }).attempts;
      throw new AppError('MODEL_LOAD_FAILED', { file: manifest.dir, provider: options.providers.join(','), reason: (e as Error).message, attempts });
    }
  }

  /** Scores a batch. Throws SCORER_FAILED when a graph fails or returns unexpected shapes. */
  async run(segs: SegmentInput[]): Promise<BatchOutput> {
    const m = this.manifest;
    const t0 = performance.now();
    const plan = planText(segs, this.tokenizer, m);
    let embeddings: Float32Array | null = null;
    if (plan) embeddings = await this.encodeText(segs, plan);
    const t1 = performance.now();
    const out = await this.runGraph(this.fusionSession, m.graphs.fusion.inputs, m.graphs.fusion.outputs, fusionInputs(segs, m, plan, embeddings));
    const B = segs.length;
    if (out.valence.length !== B || out.alpha.length !== B * 3) {
      throw new AppError('SCORER_FAILED', { reason: `fusion returned valence ${out.valence.length} / alpha ${out.alpha.length} values for ${B} rows` });
    }
    return { valence: out.valence, alpha: out.alpha, beta: out.beta ?? null, textMs: t1 - t0, fusionMs: performance.now() - t1 };
  }

  /**
   * Token embeddings [plan.rows, plan.batch.tokens, dim] for the plan's rows, encoded `textBatch`
   * rows per run, each run padded only to its own longest row (so at textBatch 1 a text is encoded
   * exactly as it would be alone).
   */
  private async encodeText(segs: SegmentInput[], plan: TextPlan): Promise<Float32Array> {
    const m = this.manifest;
    const D = m.text.dim;
    const T = plan.batch.tokens;
    if (this.textBatch >= plan.rows.length) {
      return (await this.runGraph(this.textSession, m.graphs.textEncoder.inputs, m.graphs.textEncoder.outputs, textEncoderInputs(plan)))['text.token_embeddings'];
    }
    const all = new Float32Array(plan.rows.length * T * D);
    const fixed = fixedDim(m.graphs.textEncoder.inputs, 'text.input_ids', 1);
    for (let start = 0; start < plan.rows.length; start += this.textBatch) {
      const rows = plan.rows.slice(start, start + this.textBatch);
      const batch = this.tokenizer.encodeBatch(rows.map((i) => segs[i].text!), fixed);
      const out = (await this.runGraph(this.textSession, m.graphs.textEncoder.inputs, m.graphs.textEncoder.outputs, textEncoderInputs({ rows, batch })))['text.token_embeddings'];
      if (out.length !== rows.length * batch.tokens * D) {
        throw new AppError('SCORER_FAILED', { reason: `text encoder returned ${out.length} values, expected ${rows.length}x${batch.tokens}x${D}` });
      }
      rows.forEach((_, r) => {
        for (let t = 0; t < batch.tokens; t++) all.set(out.subarray((r * batch.tokens + t) * D, (r * batch.tokens + t + 1) * D), ((start + r) * T + t) * D);
      });
    }
    return all;
  }

  async release(): Promise<void> {
    await this.textSession.release();
    await this.fusionSession.release();
  }

  private async runGraph(
    session: ort.InferenceSession,
    inputs: TensorSpec[],
    outputs: TensorSpec[],
    byRole: Record<string, HostTensor>,
  ): Promise<Record<string, Float32Array>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of inputs) {
      const t = byRole[spec.role];
      if (!t) throw new AppError('SCORER_FAILED', { reason: `no tensor built for role ${spec.role}` });
      feeds[spec.name] = new ort.Tensor(spec.dtype, t.data, t.dims);
    }
    let res: ort.InferenceSession.OnnxValueMapType;
    try {
      res = await session.run(feeds);
    } catch (e) {
      throw new AppError('SCORER_FAILED', { reason: (e as Error).message }, { cause: e });
    }
    const out: Record<string, Float32Array> = {};
    for (const spec of outputs) out[spec.role] = (res[spec.name] as ort.Tensor).data as Float32Array;
    return out;
  }

  /** The manifest's names must be the graphs' names: catch a stale manifest at start, not per batch. */
  private checkNames(): void {
    const check = (graph: string, s: ort.InferenceSession, specs: { inputs: TensorSpec[]; outputs: TensorSpec[] }): void => {
      const missingIn = specs.inputs.filter((t) => !s.inputNames.includes(t.name)).map((t) => t.name);
      const missingOut = specs.outputs.filter((t) => !s.outputNames.includes(t.name)).map((t) => t.name);
      const unbound = s.inputNames.filter((n) => !specs.inputs.some((t) => t.name === n));
      if (missingIn.length || missingOut.length || unbound.length) {
        throw new AppError('MODEL_MANIFEST_INVALID', {
          path: `${this.manifest.dir}/manifest.json`,
          reason: `graphs.${graph} names disagree with the ONNX file (absent: ${[...missingIn, ...missingOut].join(', ') || 'none'}; graph inputs not in manifest: ${unbound.join(', ') || 'none'})`,
        });
      }
    };
    check('textEncoder', this.textSession, this.manifest.graphs.textEncoder);
    check('fusion', this.fusionSession, this.manifest.graphs.fusion);
  }
}
