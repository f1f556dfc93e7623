import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../src/core/errors.js';
import { loadManifest, resolveModelDir } from '../../src/score/manifest.js';
import { fakeModelDir } from './fixtures.js';

/** Asserts MODEL_MANIFEST_INVALID with a reason matching `why`. */
async function rejects(dir: string, why: RegExp): Promise<void> {
  await assert.rejects(loadManifest(dir), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'MODEL_MANIFEST_INVALID');
    assert.match(String(e.details.reason), why);
    return true;
  });
}

test('a contract-shaped manifest loads with absolute paths and every section', async () => {
  const dir = fakeModelDir();
  const m = await loadManifest(dir);
  assert.equal(m.version, 'test-v0');
  assert.equal(m.graphs.fusion.path, join(dir, 'fu.onnx'));
  assert.equal(m.text.tokenizerPath, join(dir, 'tokenizer.json'));
  assert.deepEqual(m.labels.neutralBand, [-0.5, 0.5]);
  assert.equal(m.goldenPath, null, 'golden named but absent is allowed (serving does not need it)');
  assert.deepEqual(m.graphs.fusion.inputs.map((t) => t.role).sort(), ['audio.length', 'audio.pcm', 'presence', 'text.embeddings', 'text.mask', 'video.frames', 'video.mask']);
});

test('missing manifest.json', async () => {
  await rejects(mkdtempSync(join(tmpdir(), 'empty-')), /file not found/);
});

test('manifest that is not JSON', async () => {
  const dir = fakeModelDir();
  writeFileSync(join(dir, 'manifest.json'), '{ nope');
  await rejects(dir, /not JSON/);
});

test('a graph file that does not exist', async () => {
  const dir = fakeModelDir();
  rmSync(join(dir, 'fu.onnx'));
  await rejects(dir, /graphs\.fusion\.file "fu\.onnx" does not exist/);
});

test('a graph file outside the model folder is refused', async () => {
  await rejects(fakeModelDir((m) => (m.graphs.fusion.file = '../fu.onnx')), /must be a path inside the model folder/);
});

test('a missing tokenizer', async () => {
  const dir = fakeModelDir();
  rmSync(join(dir, 'tokenizer.json'));
  await rejects(dir, /text\.tokenizer "tokenizer\.json" does not exist/);
});

test('a graph whose bytes changed: size, then sha256', async () => {
  const dir = fakeModelDir();
  appendFileSync(join(dir, 'te.onnx'), 'x');
  await rejects(dir, /te\.onnx is 257 bytes, manifest says 256/);
  const dir2 = fakeModelDir((m) => (m.graphs.textEncoder.sha256 = 'a'.repeat(64)));
  await rejects(dir2, /te\.onnx sha256 is [0-9a-f]{64}, manifest says a{64}/);
});

test('hash checks can be skipped, but a malformed sha256 never passes', async () => {
  const dir = fakeModelDir((m) => (m.graphs.textEncoder.sha256 = 'b'.repeat(64)));
  await loadManifest(dir, { verifyHashes: false });
  await rejects(fakeModelDir((m) => (m.graphs.fusion.sha256 = 'XYZ')), /sha256 must be 64 lowercase hex digits/);
});

test('an unknown role, a role in the wrong graph, a duplicated role', async () => {
  await rejects(fakeModelDir((m) => (m.graphs.fusion.inputs[0].role = 'audio.mfcc')), /"pcm" has unknown role "audio\.mfcc"/);
  await rejects(fakeModelDir((m) => (m.graphs.textEncoder.inputs[0].role = 'audio.pcm')), /unknown role "audio\.pcm"/);
  await rejects(fakeModelDir((m) => (m.graphs.fusion.inputs[3].role = 'text.embeddings')), /lists role "text\.embeddings" twice/);
});

test('a wrong dtype names the role and both dtypes', async () => {
  await rejects(fakeModelDir((m) => (m.graphs.fusion.inputs[1].dtype = 'int32')), /role "audio\.length" must be int64, manifest says "int32"/);
  await rejects(fakeModelDir((m) => (m.graphs.fusion.outputs[0].dtype = 'float16')), /role "valence" must be float32/);
});

test('a required role that is absent, and an optional one that may be', async () => {
  await rejects(fakeModelDir((m) => m.graphs.fusion.inputs.pop()), /graphs\.fusion\.inputs has no tensor with role "presence"/);
  await rejects(fakeModelDir((m) => m.graphs.fusion.outputs.splice(1, 1)), /has no tensor with role "alpha"/);
  await loadManifest(fakeModelDir((m) => m.graphs.fusion.outputs.pop()));
  await loadManifest(fakeModelDir((m) => m.graphs.textEncoder.inputs.pop()));
});

test('dims: wrong rank, fixed batch, and fixed sizes that disagree with the manifest', async () => {
  await rejects(fakeModelDir((m) => (m.graphs.fusion.inputs[0].dims = ['batch'])), /role "audio\.pcm" must have 2 dims/);
  await rejects(fakeModelDir((m) => (m.graphs.fusion.inputs[6].dims = [1, 3])), /dims\[0\] must be the dynamic batch/);
  await rejects(fakeModelDir((m) => (m.graphs.fusion.inputs[4].dims = ['batch', 'frames', 5])), /role "video\.frames" dims\[2\] is 5, expected 4/);
  await rejects(fakeModelDir((m) => (m.text.dim = 768)), /role "text\.token_embeddings" dims\[2\] is 384, expected 768/);
});

test('format, labels, sizes and video layout are checked', async () => {
  await rejects(fakeModelDir((m) => (m.format = 2)), /format 2 is not supported/);
  await rejects(fakeModelDir((m) => (m.labels.neutralBand = [0.5, -0.5])), /valenceMin < neutralBand\[0\] <= neutralBand\[1\] < valenceMax/);
  await rejects(fakeModelDir((m) => (m.audio.sampleRate = 0)), /audio\.sampleRate must be >= 1/);
  await rejects(fakeModelDir((m) => (m.text.maxTokens = 12.5)), /text\.maxTokens must be an integer/);
  await rejects(fakeModelDir((m) => delete m.video), /video must be an object/);
  await rejects(fakeModelDir((m) => (m.video.features = ['a'])), /lists 1 names but video\.featureDim is 4/);
  await rejects(fakeModelDir((m) => (m.video.confidenceIndex = 4)), /confidenceIndex 4 is outside featureDim 4/);
  await rejects(fakeModelDir((m) => (m.graphs.extra = {})), /graphs\.extra is not a graph this server knows/);
});

test('resolveModelDir: MODEL_DIR wins, else models/CURRENT, else a clear error', () => {
  const root = mkdtempSync(join(tmpdir(), 'repo-'));
  assert.throws(() => resolveModelDir(undefined, root), (e: AppError) => e.code === 'MODEL_MANIFEST_INVALID' && /models\/CURRENT does not exist/.test(e.message));
  mkdirSync(join(root, 'models'));
  writeFileSync(join(root, 'models', 'CURRENT'), 'sdumc-v7\n');
  assert.equal(resolveModelDir(undefined, root), join(root, 'models', 'sdumc-v7'));
  assert.equal(resolveModelDir('/opt/m', root), '/opt/m');
  writeFileSync(join(root, 'models', 'CURRENT'), '../../etc\n');
  assert.throws(() => resolveModelDir(undefined, root), /not a folder name/);
});
