/**
 * Loads and validates `models/<version>/manifest.json` (docs/model-manifest.md). The scorer
 * refuses to start on a manifest it does not understand: every problem is a
 * MODEL_MANIFEST_INVALID with the first reason found, so an operator can fix it in one read.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { AppError } from '../core/errors.js';
import { GRAPH_ROLES, type GraphName, type TensorDtype } from './roles.js';

/** One graph input or output as the manifest names it. A dim is fixed (number) or dynamic (name). */
export interface TensorSpec {
  name: string;
  role: string;
  dtype: TensorDtype;
  dims: (number | string)[];
}

export interface GraphSpec {
  /** File name relative to the manifest's folder. */
  file: string;
  /** Absolute path, resolved by the loader. */
  path: string;
  sha256: string;
  bytes: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** A validated manifest, with absolute paths resolved. Shape mirrors docs/model-manifest.md. */
export interface ModelManifest {
  format: 1;
  version: string;
  /** Absolute folder holding manifest.json. */
  dir: string;
  labels: { valenceMin: number; valenceMax: number; neutralBand: [number, number] };
  audio: { sampleRate: number; maxSamples: number; frontEnd?: Record<string, unknown> };
  /** `tokenizerPath` is the absolute path of `tokenizer`. */
  text: { tokenizer: string; tokenizerPath: string; maxTokens: number; dim: number };
  video: {
    fps: number;
    featureDim: number;
    maxFrames: number;
    features: string[];
    /** Optional: index of a per-frame face-confidence feature; a frame with value <= 0 is masked. */
    confidenceIndex?: number;
  };
  graphs: Record<GraphName, GraphSpec>;
  /** Absolute path of golden.json, when the manifest names one and it is present. */
  goldenPath: string | null;
  raw: Record<string, unknown>;
}

/** Options for {@link loadManifest}. */
export interface LoadManifestOptions {
  /** Check each graph's sha256 and byte size against the manifest (default true; ~0.1 s per 25 MB). */
  verifyHashes?: boolean;
}

/**
 * Which model folder to load: `modelDir` (the config's MODEL_DIR) if set, else
 * `<root>/models/<line in models/CURRENT>`.
 * @param root repository root (default: the process's working directory)
 */
export function resolveModelDir(modelDir: string | null | undefined, root: string = process.cwd()): string {
  if (modelDir) return resolve(root, modelDir);
  const current = join(root, 'models', 'CURRENT');
  if (!existsSync(current)) {
    throw new AppError('MODEL_MANIFEST_INVALID', { path: current, reason: 'MODEL_DIR is not set and models/CURRENT does not exist' });
  }
  const version = readFileSync(current, 'utf8').trim();
  if (!/^[\w.-]+$/.test(version)) {
    throw new AppError('MODEL_MANIFEST_INVALID', { path: current, reason: `models/CURRENT names "${version}", not a folder name` });
  }
  return join(root, 'models', version);
}

/** Reads, validates and hash-checks `<dir>/manifest.json`. Throws MODEL_MANIFEST_INVALID. */
export async function loadManifest(dir: string, options: LoadManifestOptions = {}): Promise<ModelManifest> {
  const path = join(dir, 'manifest.json');
  const fail = (reason: string): never => {
    throw new AppError('MODEL_MANIFEST_INVALID', { path, reason });
  };
  if (!existsSync(path)) fail('file not found');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(`not JSON: ${(e as Error).message}`);
  }
  const manifest = parseManifest(raw, resolve(dirname(path)), fail);
  if (options.verifyHashes ?? true) {
    for (const g of Object.values(manifest.graphs)) {
      const size = statSync(g.path).size;
      if (size !== g.bytes) fail(`${g.file} is ${size} bytes, manifest says ${g.bytes}`);
      const digest = await sha256File(g.path);
      if (digest !== g.sha256) fail(`${g.file} sha256 is ${digest}, manifest says ${g.sha256}`);
    }
  }
  return manifest;
}

/** Hex sha256 of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((ok, ko) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', ko)
      .on('end', () => ok(h.digest('hex')));
  });
}

type Fail = (reason: string) => never;

function obj(v: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${at} must be an object`);
  return v as Record<string, unknown>;
}
function num(v: unknown, at: string, fail: Fail, opts: { int?: boolean; min?: number } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${at} must be a finite number`);
  const n = v as number;
  if (opts.int && !Number.isInteger(n)) fail(`${at} must be an integer`);
  if (opts.min !== undefined && n < opts.min) fail(`${at} must be >= ${opts.min}`);
  return n;
}
function str(v: unknown, at: string, fail: Fail): string {
  if (typeof v !== 'string' || v.length === 0) fail(`${at} must be a non-empty string`);
  return v as string;
}
function file(dir: string, v: unknown, at: string, fail: Fail): string {
  const name = str(v, at, fail);
  if (isAbsolute(name) || name.split(/[\\/]/).includes('..')) fail(`${at} "${name}" must be a path inside the model folder`);
  const p = join(dir, name);
  if (!existsSync(p)) fail(`${at} "${name}" does not exist`);
  return p;
}

function parseManifest(raw: unknown, dir: string, fail: Fail): ModelManifest {
  const m = obj(raw, 'manifest', fail);
  if (m.format !== 1) fail(`format ${JSON.stringify(m.format)} is not supported (this server reads format 1)`);
  const version = str(m.version, 'version', fail);

  const l = obj(m.labels, 'labels', fail);
  const valenceMin = num(l.valenceMin, 'labels.valenceMin', fail);
  const valenceMax = num(l.valenceMax, 'labels.valenceMax', fail);
  if (!Array.isArray(l.neutralBand) || l.neutralBand.length !== 2) fail('labels.neutralBand must be [low, high]');
  const band = (l.neutralBand as unknown[]).map((x, i) => num(x, `labels.neutralBand[${i}]`, fail)) as [number, number];
  if (!(valenceMin < band[0] && band[0] <= band[1] && band[1] < valenceMax)) {
    fail(`labels must satisfy valenceMin < neutralBand[0] <= neutralBand[1] < valenceMax (got ${valenceMin}, ${band}, ${valenceMax})`);
  }

  const a = obj(m.audio, 'audio', fail);
  const audio = {
    sampleRate: num(a.sampleRate, 'audio.sampleRate', fail, { int: true, min: 1 }),
    maxSamples: num(a.maxSamples, 'audio.maxSamples', fail, { int: true, min: 1 }),
    frontEnd: a.frontEnd === undefined ? undefined : obj(a.frontEnd, 'audio.frontEnd', fail),
  };

  const t = obj(m.text, 'text', fail);
  const text = {
    tokenizer: str(t.tokenizer, 'text.tokenizer', fail),
    tokenizerPath: file(dir, t.tokenizer, 'text.tokenizer', fail),
    maxTokens: num(t.maxTokens, 'text.maxTokens', fail, { int: true, min: 3 }),
    dim: num(t.dim, 'text.dim', fail, { int: true, min: 1 }),
  };

  const v = obj(m.video, 'video', fail);
  const featureDim = num(v.featureDim, 'video.featureDim', fail, { int: true, min: 1 });
  const features = v.features === undefined ? [] : v.features;
  if (!Array.isArray(features) || features.some((f) => typeof f !== 'string')) fail('video.features must be a list of names');
  if ((features as string[]).length > 0 && (features as string[]).length !== featureDim) {
    fail(`video.features lists ${(features as string[]).length} names but video.featureDim is ${featureDim}`);
  }
  let confidenceIndex: number | undefined;
  if (v.confidenceIndex !== undefined) {
    confidenceIndex = num(v.confidenceIndex, 'video.confidenceIndex', fail, { int: true, min: 0 });
    if (confidenceIndex >= featureDim) fail(`video.confidenceIndex ${confidenceIndex} is outside featureDim ${featureDim}`);
  }
  const video = {
    fps: num(v.fps, 'video.fps', fail, { min: 0 }),
    featureDim,
    maxFrames: num(v.maxFrames, 'video.maxFrames', fail, { int: true, min: 1 }),
    features: features as string[],
    confidenceIndex,
  };

  const g = obj(m.graphs, 'graphs', fail);
  const graphs = {} as Record<GraphName, GraphSpec>;
  for (const name of Object.keys(GRAPH_ROLES) as GraphName[]) graphs[name] = parseGraph(g[name], name, dir, fail);
  for (const extra of Object.keys(g)) if (!(extra in GRAPH_ROLES)) fail(`graphs.${extra} is not a graph this server knows`);
  checkDims(graphs, text.dim, featureDim, fail);

  // The golden fixture is for tests, not serving: a deployment may leave it out.
  const goldenPath = m.golden === undefined ? null : existsSync(join(dir, str(m.golden, 'golden', fail))) ? join(dir, m.golden as string) : null;
  return { format: 1, version, dir, labels: { valenceMin, valenceMax, neutralBand: band }, audio, text, video, graphs, goldenPath, raw: m };
}

function parseGraph(raw: unknown, name: GraphName, dir: string, fail: Fail): GraphSpec {
  const at = `graphs.${name}`;
  const g = obj(raw, at, fail);
  const path = file(dir, g.file, `${at}.file`, fail);
  const sha256 = str(g.sha256, `${at}.sha256`, fail);
  if (!/^[0-9a-f]{64}$/.test(sha256)) fail(`${at}.sha256 must be 64 lowercase hex digits`);
  const bytes = num(g.bytes, `${at}.bytes`, fail, { int: true, min: 1 });
  const spec = GRAPH_ROLES[name];
  const inputs = parseTensors(g.inputs, `${at}.inputs`, spec.inputs, fail);
  const outputs = parseTensors(g.outputs, `${at}.outputs`, spec.outputs, fail);
  return { file: g.file as string, path, sha256, bytes, inputs, outputs };
}

function parseTensors(raw: unknown, at: string, known: Record<string, { dtype: TensorDtype; rank: number; required: boolean }>, fail: Fail): TensorSpec[] {
  if (!Array.isArray(raw)) fail(`${at} must be a list`);
  const seenRoles = new Set<string>();
  const seenNames = new Set<string>();
  const out = (raw as unknown[]).map((x, i) => {
    const t = obj(x, `${at}[${i}]`, fail);
    const name = str(t.name, `${at}[${i}].name`, fail);
    const role = str(t.role, `${at}[${i}].role`, fail);
    const k = known[role];
    if (!k) fail(`${at}[${i}] "${name}" has unknown role "${role}" (known here: ${Object.keys(known).join(', ')})`);
    if (seenRoles.has(role)) fail(`${at} lists role "${role}" twice`);
    if (seenNames.has(name)) fail(`${at} lists tensor name "${name}" twice`);
    seenRoles.add(role);
    seenNames.add(name);
    if (t.dtype !== k.dtype) fail(`${at} role "${role}" must be ${k.dtype}, manifest says ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.dims) || t.dims.length !== k.rank) fail(`${at} role "${role}" must have ${k.rank} dims`);
    const dims = (t.dims as unknown[]).map((d, j) => {
      if (typeof d === 'string' && d.length > 0) return d;
      return num(d, `${at} role "${role}" dims[${j}]`, fail, { int: true, min: 1 });
    });
    if (typeof dims[0] === 'number') fail(`${at} role "${role}" dims[0] must be the dynamic batch`);
    return { name, role, dtype: k.dtype, dims };
  });
  for (const [role, k] of Object.entries(known)) if (k.required && !seenRoles.has(role)) fail(`${at} has no tensor with role "${role}"`);
  return out;
}

/** Fixed dims that must agree with the manifest's own sizes (a mismatch would fail at run time). */
function checkDims(graphs: Record<GraphName, GraphSpec>, textDim: number, featureDim: number, fail: Fail): void {
  const expect: [GraphName, string, number, number][] = [
    ['textEncoder', 'text.token_embeddings', 2, textDim],
    ['fusion', 'text.embeddings', 2, textDim],
    ['fusion', 'video.frames', 2, featureDim],
    ['fusion', 'presence', 1, 3],
    ['fusion', 'alpha', 1, 3],
  ];
  for (const [graph, role, axis, want] of expect) {
    const t = [...graphs[graph].inputs, ...graphs[graph].outputs].find((x) => x.role === role);
    const d = t?.dims[axis];
    if (typeof d === 'number' && d !== want) fail(`graphs.${graph} role "${role}" dims[${axis}] is ${d}, expected ${want}`);
  }
}
