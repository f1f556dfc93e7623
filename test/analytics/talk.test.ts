/** The definitions of src/analytics/talk.ts on small hand-made calls whose answers are worked out by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countWords, DBFS_FLOOR, talkAnalytics, type TalkPoint, union } from '../../src/analytics/talk.js';

/** A segment with speech spans; loudness: `n` samples of a constant `amp` (mean power amp^2). */
function seg(channel: string, segmentIndex: number, speech: [number, number][], o: { revision?: number; text?: string | null; recognisedText?: string | null; amp?: number; n?: number } = {}): TalkPoint {
  const n = o.n ?? 1000;
  const amp = o.amp ?? 0.1;
  return {
    channel, segmentIndex, revision: o.revision ?? 0, valence: 0, textMissing: !o.text,
    startMs: speech.length ? speech[0][0] : 0, endMs: speech.length ? speech[speech.length - 1][1] : 0,
    text: o.text ?? null, recognisedText: o.recognisedText ?? null,
    talk: { speech, speechSamples: n, sumSquares: n * amp * amp, peak: amp },
  };
}

test('talk time, shares, overlaps and interruptions of a two-channel call', () => {
  // customer talks 0-4000 and 6000-8000; agent 3000-5000 (cuts in at 3000) and 9000-10000.
  const t = talkAnalytics([
    seg('customer', 0, [[0, 4000]]), seg('customer', 1, [[6000, 8000]]),
    seg('agent', 0, [[3000, 5000]]), seg('agent', 1, [[9000, 10000]]),
  ]);
  assert.equal(t.spanMs, 10_000);
  assert.equal(t.overlapMs, 1000);
  assert.ok(Math.abs(t.nonTalkShare - 0.2) < 1e-12, String(t.nonTalkShare)); // nobody: 5000-6000, 8000-9000
  const [agent, customer] = t.channels;
  assert.deepEqual([agent.channel, agent.talkTimeMs, agent.overlapMs, agent.interruptions], ['agent', 3000, 1000, 1]);
  assert.deepEqual([customer.channel, customer.talkTimeMs, customer.overlapMs, customer.interruptions], ['customer', 6000, 1000, 0]);
  assert.equal(customer.talkShare, 0.6);
  assert.ok(Math.abs(customer.silenceShare - 0.4) < 1e-12);
});

test('a turn split across two segments is one turn (no self-interruption), and only the latest revision counts', () => {
  const t = talkAnalytics([
    seg('customer', 0, [[0, 12000]]), seg('customer', 1, [[12000, 15000]]), // one long turn cut at maxSegmentMs
    seg('agent', 0, [[11000, 13000]]),
    seg('agent', 0, [[11000, 12000]], { revision: 1 }), // a revision replaces revision 0
  ]);
  const [agent, customer] = t.channels;
  assert.equal(customer.interruptions, 0);
  assert.equal(agent.interruptions, 1);
  assert.equal(agent.talkTimeMs, 1000);
  assert.equal(union([[0, 5], [5, 8], [10, 12]]).length, 2);
});

test('speaking rate counts transcript words, else recognised words, over the speech of segments with words', () => {
  const t = talkAnalytics([
    seg('customer', 0, [[0, 30_000]], { text: 'one two three — four' }), // 4 words ("—" is not one) in 30 s
    seg('customer', 1, [[40_000, 70_000]], { recognisedText: 'five six' }), // 2 words in 30 s
    seg('customer', 2, [[80_000, 140_000]]), // no words: not in the rate
    seg('agent', 0, [[0, 1000]]),
  ]);
  const customer = t.channels.find((c) => c.channel === 'customer')!;
  assert.equal(customer.words, 6);
  assert.equal(customer.wordsPerMinute, 6); // 6 words over 60 s of speech
  assert.equal(t.channels.find((c) => c.channel === 'agent')!.wordsPerMinute, null);
  assert.equal(countWords("  can't  stop, 2 go  "), 4);
});

test('loudness pools samples over segments; digital silence floors at -120 dBFS; no speech: null', () => {
  const t = talkAnalytics([
    seg('customer', 0, [[0, 1000]], { amp: 0.5, n: 1000 }),
    seg('customer', 1, [[2000, 3000]], { amp: 0.25, n: 3000 }),
    seg('agent', 0, [[0, 1000]], { amp: 0 }),
    { ...seg('bot', 0, []), talk: null },
  ]);
  const c = t.channels.find((x) => x.channel === 'customer')!;
  const mean = (1000 * 0.25 + 3000 * 0.0625) / 4000;
  assert.ok(Math.abs(c.meanDbfs! - 10 * Math.log10(mean)) < 1e-9);
  assert.ok(Math.abs(c.peakDbfs! - 20 * Math.log10(0.5)) < 1e-9);
  const a = t.channels.find((x) => x.channel === 'agent')!;
  assert.deepEqual([a.meanDbfs, a.peakDbfs], [DBFS_FLOOR, DBFS_FLOOR]);
  const b = t.channels.find((x) => x.channel === 'bot')!;
  assert.deepEqual([b.talkTimeMs, b.meanDbfs, b.peakDbfs, b.wordsPerMinute], [0, null, null, null]);
});

test('a call with no scores: zero span, no channels', () => {
  assert.deepEqual(talkAnalytics([]), { spanMs: 0, nonTalkShare: 0, overlapMs: 0, channels: [] });
});
