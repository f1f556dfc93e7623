/**
 * Test helpers for the scoring stage: a contract-shaped model folder with placeholder graph
 * bytes (for manifest and feature rules, no ONNX needed), the committed model (for real
 * sessions; absent -> fail in CI, skip loudly elsewhere), and a Segment builder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Segment } from '../../src/core/types.js';
import { loadManifest, resolveModelDir, type ModelManifest } from '../../src/score/manifest.js';
import { inCI } from '../support/services.js';

export const REPO = new URL('../../', import.meta.url).pathname;

type Json = Record<string, any>;

/** A manifest per docs/model-manifest.md for the given graph files (sha256 and bytes filled in). */
export function contractManifest(dir: string): Json {
  const graph = (file: string, inputs: Json[], outputs: Json[]): Json => {
    const bytes = readFileSync(join(dir, file));
    return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, inputs, outputs };
  };
  const T = (name: string, role: string, dtype: string, dims: (string | number)[]): Json => ({ name, role, dtype, dims });
  return {
    format: 1,
    version: 'test-v0',
    createdAt: '2026-11-27T22:00:00Z',
    labels: { valenceMin: -3, valenceMax: 3, neutralBand: [-0.5, 0.5] },
    audio: { sampleRate: 16000, maxSamples: 48000, frontEnd: { kind: 'logmel', inGraph: true, nFft: 512, winLength: 400, hopLength: 160 } },
    text: { tokenizer: 'tokenizer.json', maxTokens: 16, dim: 384 },
    video: { fps: 10, featureDim: 4, maxFrames: 5, features: ['a', 'b', 'c', 'd'] },
    graphs: {
      textEncoder: graph('te.onnx',
        [T('input_ids', 'text.input_ids', 'int64', ['batch', 'tokens']), T('attention_mask', 'text.attention_mask', 'int64', ['batch', 'tokens']), T('token_type_ids', 'text.token_type_ids', 'int64', ['batch', 'tokens'])],
        [T('token_embeddings', 'text.token_embeddings', 'float32', ['batch', 'tokens', 384])]),
      fusion: graph('fu.onnx',
        [T('pcm', 'audio.pcm', 'float32', ['batch', 'samples']), T('pcm_len', 'audio.length', 'int64', ['batch']),
          T('emb', 'text.embeddings', 'float32', ['batch', 'tokens', 384]), T('tmask', 'text.mask', 'float32', ['batch', 'tokens']),
          T('frames', 'video.frames', 'float32', ['batch', 'frames', 4]), T('vmask', 'video.mask', 'float32', ['batch', 'frames']),
          T('presence', 'presence', 'float32', ['batch', 3])],
        [T('valence', 'valence', 'float32', ['batch']), T('alpha', 'alpha', 'float32', ['batch', 3]), T('beta', 'beta', 'float32', ['batch', 7])]),
    },
    golden: 'golden.json',
    metrics: {},
  };
}

/**
 * A temp model folder: placeholder graph bytes, a placeholder tokenizer.json, and a manifest that `edit` may change before it is written.
 */
export function fakeModelDir(edit: (m: Json) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'score-manifest-'));
  writeFileSync(join(dir, 'te.onnx'), randomBytes(256));
  writeFileSync(join(dir, 'fu.onnx'), randomBytes(128));
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  const m = contractManifest(dir);
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 1));
  return dir;
}

/** A validated manifest from {@link fakeModelDir}, for feature rules. */
export function fakeManifest(edit?: (m: Json) => void): Promise<ModelManifest> {
  return loadManifest(fakeModelDir(edit));
}

/**
 * The committed model folder (models/CURRENT) when it is there. Absent: fails with CI=true,
 * skips loudly otherwise (the model issue publishes it).
 */
export async function requireModel(t: TestContext): Promise<string | null> {
  let dir: string | null = null;
  try {
    dir = resolveModelDir(process.env.MODEL_DIR, REPO);
  } catch {
    dir = null;
  }
  if (dir && existsSync(join(dir, 'manifest.json'))) return dir;
  const message = 'MODEL NOT EXPORTED: no manifest.json in MODEL_DIR or models/<models/CURRENT> (the model issue exports it: python -m sdumc.export)';
  if (inCI()) assert.fail(`${message} (CI=true: a missing model is a failure)`);
  console.warn(`!! ${message} -- skipping "${t.name}"`);
  t.skip(message);
  return null;
}

/** Copies a real model folder's files into a temp folder so a test can edit its manifest. */
export function copyModelDir(src: string, files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'score-model-'));
  for (const f of files) copyFileSync(join(src, f), join(dir, f));
  return dir;
}

let lcg = 7;
/** Deterministic pseudo-random float in [-1, 1). */
export function rand(): number {
  lcg = (lcg * 1103515245 + 12345) >>> 0;
  return (lcg / 2 ** 32) * 2 - 1;
}

/** A segment with every modality present unless overridden (audio 1 s at 16 kHz, 5 frames x featureDim). */
export function segment(o: Partial<Segment> & { featureDim?: number; seconds?: number } = {}): Segment {
  const d = o.featureDim ?? 4;
  const frames = o.videoFrames ?? 5;
  const audio = 'audio' in o ? o.audio! : Float32Array.from({ length: Math.round((o.seconds ?? 1) * 16000) }, () => 0.2 * rand());
  const video = 'video' in o ? o.video! : Float32Array.from({ length: frames * d }, () => rand());
  return {
    callId: o.callId ?? 'call-1', tenant: 'default', channel: o.channel ?? 'customer', index: o.index ?? 0, revision: 0,
    startMs: 0, endMs: 1000, audio, text: 'text' in o ? o.text! : 'thank you so much, that fixed it',
    video, videoFrames: video === null ? 0 : frames, sources: [], sealedAtWallMs: Date.now(),
  };
}
