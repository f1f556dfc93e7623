// Model throughput: the exported graphs in onnxruntime-node vs PyTorch eager, same inputs,
// batch 1 and 32, CPU, side by side in one run; FLOPs per segment against the machine's
// measured fp32 matmul rate. Not a test: the numbers depend on the machine and its load.
//
//   node bench/model_throughput.mjs [--model models/sdumc-v1] [--seconds 3] [--json out.json]
//
// The python side (bench/model_throughput.py) writes the inputs and times PyTorch eager and
// onnxruntime-python; this script times onnxruntime-node on the very same tensors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/sdumc-v1' }, // model version folder
    seconds: { type: 'string', default: '3' }, // timing window per configuration, seconds
    json: { type: 'string' }, // optional path for the raw results
    python: { type: 'string', default: '.venv/bin/python' },
  },
});
const modelDir = resolve(opt.model);
const seconds = Number(opt.seconds);
if (!(seconds > 0)) {
  console.error(`error: --seconds must be a positive number, got ${opt.seconds}`);
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'model-throughput-'));
try {
  const py = spawnSync(opt.python, ['bench/model_throughput.py', '--model', modelDir, '--work', work, '--seconds', String(seconds)], {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  if (py.status !== 0) {
    const line = (py.stderr ?? '').split('\n').filter((l) => l.startsWith('error:')).pop() ?? py.stderr?.trim().split('\n').pop();
    console.error(`error: python side failed (${py.status ?? py.error}): ${line}`);
    process.exit(2);
  }
  const meta = JSON.parse(readFileSync(join(work, 'inputs.json'), 'utf8'));
  const pyRes = JSON.parse(readFileSync(join(work, 'python.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8'));

  const load = (t) => {
    const buf = readFileSync(join(work, t.file));
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = t.dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
    return new ort.Tensor(t.dtype, data, t.dims);
  };
  const node = {};
  for (const g of ['textEncoder', 'fusion']) {
    const session = await ort.InferenceSession.create(join(modelDir, manifest.graphs[g].file), { executionProviders: ['cpu'] });
    for (const B of [1, 32]) {
      const feeds = {};
      for (const t of manifest.graphs[g].inputs) feeds[t.name] = load(meta[`b${B}`][g][t.role]);
      await session.run(feeds); // warm-up
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000 || n < 2) {
        await session.run(feeds);
        n++;
      }
      node[`node.${g}.b${B}`] = (n * B) / ((performance.now() - t0) / 1000);
    }
    await session.release();
  }
  const all = { ...pyRes, ...node };
  // a segment with text = text encoder + fusion, run back to back: rates add as 1/(1/a + 1/b)
  const seg = (k, B) => 1 / (1 / all[`${k}.textEncoder.b${B}`] + 1 / all[`${k}.fusion.b${B}`]);
  const rows = [];
  for (const B of [1, 32]) {
    for (const g of ['textEncoder', 'fusion']) {
      rows.push({ batch: B, part: g, torch: all[`torch.${g}.b${B}`], ortPython: all[`ortpy.${g}.b${B}`], ortNode: all[`node.${g}.b${B}`] });
    }
    rows.push({ batch: B, part: 'segment (both)', torch: seg('torch', B), ortPython: seg('ortpy', B), ortNode: seg('node', B) });
  }
  const f = (x) => x.toFixed(1).padStart(9);
  console.log(`segment = ${pyRes.segment.audio_s} s audio + ${pyRes.segment.tokens} tokens + ${pyRes.segment.video_frames} video frames; torch threads ${pyRes.torch_threads}; ${seconds} s per cell`);
  console.log(`eager: ${pyRes.eager}`);
  console.log('batch part               torch-eager  ort-python  ort-node  node/torch   (segments/s)');
  for (const r of rows) {
    console.log(`${String(r.batch).padEnd(5)} ${r.part.padEnd(18)} ${f(r.torch)}  ${f(r.ortPython)} ${f(r.ortNode)}  ${(r.ortNode / r.torch).toFixed(2).padStart(8)}x`);
  }
  const gf = (k) => all[`flops.${k}`] / 1e9;
  const total = gf('textEncoder') + gf('fusion');
  console.log(`FLOPs per segment: text encoder ${gf('textEncoder').toFixed(3)} G (int8 in the served graph), fusion ${gf('fusion').toFixed(3)} G, total ${total.toFixed(3)} G`);
  console.log(`measured fp32 matmul rate ${all.fp32_matmul_gflops.toFixed(1)} GFLOP/s (onnxruntime MLAS; torch's BLAS here: ${all.torch_matmul_gflops.toFixed(1)}) -> ceiling ~${(all.fp32_matmul_gflops / total).toFixed(0)} segments/s at fp32; ` +
    `ort-node batch 32 reaches ${((seg('node', 32) * total) / all.fp32_matmul_gflops * 100).toFixed(0)}% of it`);
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ results: all, rows }, null, 1));
} finally {
  rmSync(work, { recursive: true, force: true });
}
