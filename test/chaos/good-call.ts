/** The good call of the chaos suite: the first fixture call (fixtures/calls), two channels with
 *  audio, transcripts and face features, scripted as a live call would send it. */
import { join } from 'node:path';
import { loadFixtureCalls } from '../../src/app/demo/fixtures.js';
import { scriptCall } from '../../src/app/demo/script.js';
import { repoRoot } from '../../src/app/paths.js';
import type { GoodChunk } from './harness.js';

const EPOCH = 1_764_000_000_000;

export function goodCall(): GoodChunk[] {
  const fx = loadFixtureCalls(join(repoRoot(), 'fixtures', 'calls'))[0];
  // No late transcripts: a revision depends on history kept under a budget shared by all calls
  // (historyBudget), which fuzz calls may legitimately use up.
  return scriptCall(fx, { callId: 'good-call', tenant: 'good', epochMs: EPOCH, seed: 11, dropTranscriptShare: 0.2, lateTranscriptShare: 0 })
    .map((c) => ({ atMs: c.atMs, chunk: c.chunk }));
}
