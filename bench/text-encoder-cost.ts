/**
 * Text encoder cost per transcript, two (or more) int8 text graphs side by side in one run, the
 * way the scorer runs them: onnxruntime-node, CPU provider, one intra-op thread, one transcript
 * per run (batch 1), the served tokenizer. The transcripts are real: every utterance of the demo
 * calls (fixtures/calls, MELD dialogues). Rounds alternate between the graphs so machine load
 * hits them alike; each round times every transcript once. Prints the median ms per transcript
 * of each graph, its ratio to the first, and the load average before and after.
 *
 *   git show <before>:models/sdumc-v1/text_encoder.int8.onnx > /tmp/before.onnx
 *   nice node --import tsx bench/text-encoder-cost.ts --graph /tmp/before.onnx \
 *     --graph models/sdumc-v1/text_encoder.int8.onnx [--rounds 15]
 *
 * The tokenizer and truncation come from MODEL_DIR / models/CURRENT's manifest. Not a test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../src/app/config.js';
import { loadManifest } from '../src/score/manifest.js';
import { TextTokenizer } from '../src/score/tokenizer.js';

const { values } = parseArgs({ options: { graph: { type: 'string', multiple: true }, rounds: { type: 'string', default: '15' } } });
const graphs = values.graph ?? [];
if (graphs.length < 1) {
  console.error('error: give --graph PATH at least once (the first is the baseline)');
  process.exit(2);
}
const ROUNDS = Number(values.rounds);

/** Every utterance text of the demo calls. */
function transcripts(dir = 'fixtures/calls'): string[] {
  const out: string[] = [];
  for (const call of readdirSync(dir, { withFileTypes: true })) {
    if (!call.isDirectory()) continue;
    const meta = JSON.parse(readFileSync(join(dir, call.name, 'call.json'), 'utf8')) as { utterances: { text: string }[] };
    for (const u of meta.utterances) if (u.text.trim()) out.push(u.text);
  }
  return out;
}

const config = loadConfig();
const manifest = await loadManifest(config.modelDir ?? join('models', readFileSync('models/CURRENT', 'utf8').trim()));
const tok = new TextTokenizer(manifest.text.tokenizerPath, manifest.text.maxTokens);
const texts = transcripts();
const feeds = texts.map((t) => {
  const b = tok.encodeBatch([t]);
  const dims = [1, b.tokens];
  return { input_ids: new ort.Tensor('int64', b.inputIds, dims), attention_mask: new ort.Tensor('int64', b.attentionMask, dims), token_type_ids: new ort.Tensor('int64', b.tokenTypeIds, dims) };
});
const sessions = await Promise.all(graphs.map((g) => ort.InferenceSession.create(g, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 })));

/** Seconds to encode every transcript once, one per run. */
async function pass(s: ort.InferenceSession): Promise<number> {
  const t0 = performance.now();
  for (const f of feeds) await s.run(f);
  return (performance.now() - t0) / 1000;
}

for (const s of sessions) await pass(s); // warm-up
const load0 = loadavg();
const times: number[][] = sessions.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  // alternate the order each round so neither graph always runs first
  const order = r % 2 ? [...sessions.keys()].reverse() : [...sessions.keys()];
  for (const i of order) times[i].push(await pass(sessions[i]));
}
const load1 = loadavg();
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const msPer = times.map((t) => (median(t) * 1000) / texts.length);
const tokens = feeds.map((f) => Number(f.input_ids.dims[1]));
console.log(`${texts.length} transcripts (fixtures/calls), tokens p50 ${median(tokens)} max ${Math.max(...tokens)}; ${ROUNDS} alternating rounds; onnxruntime-node, 1 thread, batch 1`);
console.log(`load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}`);
console.log('| graph | ms per transcript (median round) | cost vs first |\n|---|---:|---:|');
graphs.forEach((g, i) => console.log(`| ${g} | ${msPer[i].toFixed(3)} | ${(msPer[i] / msPer[0]).toFixed(2)}x |`));
for (const s of sessions) await s.release();
