/** Builders for valid scores and calls; tests override only the fields they care about. */
import { textSourceOf, type CallInfo, type SegmentScore } from '../../src/core/types.js';

/** A score; textSource follows modalities.text unless given, as a stored score reads back
 *  (no utterance ids: [], as every store reads them back; no talk measures: absent). */
export function makeScore(over: Partial<SegmentScore> = {}): SegmentScore {
  const s = makeScoreFields(over);
  return { ...s, textSource: textSourceOf(s), recognisedText: s.recognisedText ?? null, utteranceIds: s.utteranceIds ?? [] };
}

function makeScoreFields(over: Partial<SegmentScore>): SegmentScore {
  const segmentIndex = over.segmentIndex ?? 0;
  const startMs = over.startMs ?? 1_700_000_000_000 + segmentIndex * 2000;
  return {
    callId: 'call-1',
    tenant: 'acme',
    channel: 'customer',
    segmentIndex,
    revision: 0,
    startMs,
    endMs: startMs + 1800,
    valence: -1.25,
    label: 'NEGATIVE',
    confidence: 0.6,
    textMissing: true,
    modalities: { text: 'SIMULATED', audio: 'PRESENT', video: 'MISSING' },
    modalityWeights: { text: 0.3, audio: 0.7, video: 0 },
    text: null,
    modelVersion: 'sdumc-test-1',
    executionProvider: 'cpu',
    scoredAt: '2024-05-01T12:00:00.000Z',
    ...over,
  };
}

export function makeCall(over: Partial<CallInfo> = {}): CallInfo {
  return {
    callId: 'call-1',
    tenant: 'acme',
    status: 'ACTIVE',
    startedAtMs: 1_700_000_000_000,
    endedAtMs: null,
    channels: ['customer', 'agent'],
    segmentCount: 0,
    meta: { queue: 'billing' },
    displayName: null,
    ...over,
  };
}

/** Deterministic shuffle (mulberry32) so a failing order can be reproduced from its seed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
