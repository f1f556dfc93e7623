/**
 * Chaos suite, fuzzing at scale: >= 100,000 generated hostile records (test/chaos/records.ts)
 * interleaved with a good call, through the real decoder and window (test/chaos/harness.ts), in
 * rounds of --per-round records each. Prints the figures docs/operations.md ("Chaos suite")
 * reports: records fuzzed, max and p99 time per record (CPU, the budget's measure, and wall),
 * records dead-lettered by code, records unaccounted for, and whether the good call's segments
 * equal those of the call alone in every round (its scores are a pure function of them; the CI
 * test, test/chaos/fuzz.test.ts, also scores both with the ONNX model).
 *
 *   nice node --import tsx bench/chaos-fuzz.ts [--records 100000] [--per-round 2000] [--seed 13]
 */
import { isDeepStrictEqual, parseArgs } from 'node:util';
import fc from 'fast-check';
import { percentile, runChaos } from '../test/chaos/harness.js';
import { fuzzRecord } from '../test/chaos/records.js';
import { goodCall } from '../test/chaos/good-call.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' }, 'per-round': { type: 'string', default: '2000' }, seed: { type: 'string', default: '13' } } });
const total = Number(values.records);
const perRound = Number(values['per-round']);
const seed = Number(values.seed);
const BUDGET_MS = 50;

const good = goodCall();
const alone = runChaos(good, [], []);
const times: number[] = [];
const walls: number[] = [];
const codes = new Map<string, number>();
let fuzzed = 0;
let accepted = 0;
let unaccounted = 0;
let goodRejected = 0;
let roundsEqual = 0;
let rounds = 0;
let worst = { ms: 0, wallMs: 0, what: '' };
const t0 = Date.now();
for (let round = 0; fuzzed < total; round++) {
  const n = Math.min(perRound, total - fuzzed);
  const items = fc.sample(fc.tuple(fuzzRecord, fc.nat()), { numRuns: n, seed: seed * 1_000_003 + round });
  const r = runChaos(good, items.map(([rec]) => rec), items.map(([, p]) => p % (good.length + 1)));
  rounds++;
  fuzzed += r.fuzzed;
  accepted += r.acceptedFuzz;
  unaccounted += r.unaccounted.length;
  goodRejected += r.goodRejected.length;
  if (isDeepStrictEqual(r.goodSegments, alone.goodSegments)) roundsEqual++;
  times.push(...r.times);
  walls.push(...r.wallTimes);
  for (const [c, k] of r.deadLettered) codes.set(c, (codes.get(c) ?? 0) + k);
  if (r.worst.ms > worst.ms) worst = r.worst;
  if (round % 10 === 0) console.error(`.. ${fuzzed} records, worst so far ${worst.ms.toFixed(1)} ms CPU`);
}
const deadLettered = [...codes.values()].reduce((a, b) => a + b, 0);
const figures = {
  recordsFuzzed: fuzzed,
  rounds,
  goodCallChunks: good.length,
  goodCallSegments: alone.goodSegments.length,
  cpuMsPerRecord: { max: +worst.ms.toFixed(2), p99: +percentile(times, 99).toFixed(3), p50: +percentile(times, 50).toFixed(3) },
  wallMsPerRecord: { max: +Math.max(...walls).toFixed(2), p99: +percentile(walls, 99).toFixed(3) },
  slowest: worst.what,
  overBudget: times.filter((t) => t >= BUDGET_MS).length,
  acceptedValid: accepted,
  deadLettered,
  deadLetteredByCode: Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])),
  unaccounted,
  goodCallRecordsRejected: goodRejected,
  goodCallEqualToAlone: `${roundsEqual}/${rounds} rounds`,
  seconds: Math.round((Date.now() - t0) / 1000),
};
console.log(JSON.stringify(figures, null, 2));
process.exitCode = figures.overBudget === 0 && unaccounted === 0 && goodRejected === 0 && roundsEqual === rounds && accepted + deadLettered === fuzzed ? 0 : 1;
