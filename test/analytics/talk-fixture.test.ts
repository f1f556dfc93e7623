/**
 * Talk analytics end to end over the committed fixture fixtures/talk/ (a synthetic two-channel
 * call with known turns, made by scripts/make-talk-fixture.py): the WAV goes through the real
 * decoder (8 kHz records, resampled to 16 kHz) and the real window (VAD), the segments' talk
 * measures through talkAnalytics, and every figure is checked against an independent reference
 * computed here from the fixture's known turns and the WAV's own samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaChunk, Segment } from '../../src/core/types.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { talkAnalytics, type TalkPoint } from '../../src/analytics/talk.js';
import { Windower } from '../../src/window/windower.js';
import { EDGE_MS, T0, callRecords, len, levels, meta, overlapMs, padded } from '../support/talk-fixture.js';

function windowed(): Segment[] {
  const decode = createDecoder();
  const w = new Windower();
  const segs: Segment[] = [];
  callRecords({ interims: true }).forEach((r, i) => {
    for (const ev of w.accept(decode(r) as MediaChunk, i)) {
      assert.notEqual(ev.type, 'rejected', JSON.stringify(ev.type === 'rejected' ? ev.error : null));
      if (ev.type === 'segment') segs.push(ev.segment);
    }
  });
  return segs;
}

const point = (s: Segment): TalkPoint => ({
  channel: s.channel, segmentIndex: s.index, revision: s.revision, valence: 0, textMissing: s.text === null,
  startMs: s.startMs - T0, endMs: s.endMs - T0, text: s.text, recognisedText: null,
  talk: s.talk ? { ...s.talk, speech: s.talk.speech.map(([a, b]): [number, number] => [a - T0, b - T0]) } : null,
});

test('talk analytics of the fixture call match the reference computed from its known turns and samples', () => {
  const segs = windowed();
  const talk = talkAnalytics(segs.map(point));
  const [cust, agent] = ['customer', 'agent'].map((ch) => talk.channels.find((c) => c.channel === ch)!);
  const turns = (ch: string) => meta.turns.filter((t) => t.channel === ch).length;
  const near = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs reference ${want} (tolerance ${tol})`);

  for (const [c, ch] of [[cust, 'customer'], [agent, 'agent']] as const) {
    near(c.talkTimeMs, len(padded(ch)), 2 * EDGE_MS * turns(ch), `${ch} talk time`);
    const other = padded(ch === 'customer' ? 'agent' : 'customer');
    near(c.overlapMs, overlapMs(padded(ch), other), 2 * EDGE_MS * turns(ch), `${ch} overlap`);
    const interrupts = padded(ch).filter(([s]) => other.some(([a, b]) => s >= a && s < b)).length;
    assert.equal(c.interruptions, interrupts, `${ch} interruptions`);
    const ref = levels(meta.channels.indexOf(ch), padded(ch));
    near(c.meanDbfs!, ref.mean, 0.3, `${ch} mean dBFS`);
    near(c.peakDbfs!, ref.peak, 0.3, `${ch} peak dBFS`);
  }
  // The fixture's shape, so the checks above are not vacuous: each leg cuts in on the other.
  assert.deepEqual([cust.interruptions, agent.interruptions], [1, 2]);

  const all = [...padded('customer'), ...padded('agent')];
  const span = Math.max(...all.map(([, e]) => e)) - Math.min(...all.map(([s]) => s));
  near(talk.spanMs, span, 2 * EDGE_MS + 150, 'span');
  near(talk.overlapMs, overlapMs(padded('customer'), padded('agent')), 2 * EDGE_MS * meta.turns.length, 'call overlap');
  const union = len(padded('customer')) + len(padded('agent')) - overlapMs(padded('customer'), padded('agent'));
  near(talk.nonTalkShare, 1 - union / span, 0.03, 'non-talk share');
  near(cust.silenceShare, 1 - len(padded('customer')) / span, 0.03, 'customer silence share');

  // Speaking rate: the customer's words over the customer's (padded) speech minutes; the agent sent no words.
  const words = meta.turns.filter((t) => t.channel === 'customer').reduce((n, t) => n + t.text!.split(' ').length, 0);
  assert.equal(cust.words, words);
  near(cust.wordsPerMinute!, words / (len(padded('customer')) / 60_000), 3, 'customer words per minute');
  assert.equal(agent.wordsPerMinute, null);
  assert.deepEqual(segs.filter((s) => s.channel === 'customer').map((s) => s.utteranceIds), meta.turns.filter((t) => t.channel === 'customer').map((t) => [`turn-${t.startMs}`]));
  assert.deepEqual(segs.filter((s) => s.channel === 'customer').map((s) => s.text), meta.turns.filter((t) => t.channel === 'customer').map((t) => t.text));
});
