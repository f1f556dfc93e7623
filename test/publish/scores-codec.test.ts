/**
 * The scores topic's record format: score and call records keep their wire format byte for byte
 * (older instances read them), alerts round-trip as the third kind, and anything malformed is
 * refused (null) rather than delivered half-formed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Alert } from '../../src/analytics/alert.js';
import { decodeScoresEvent, encodeScoresEvent, KIND_HEADER, ORIGIN_HEADER } from '../../src/publish/scores-codec.js';
import type { CallInfo } from '../../src/core/types.js';
import { makeScore } from '../store/fixtures.js';

const alert: Alert = {
  id: 'acme:c1:customer:SUSTAINED_NEGATIVE:3', tenant: 'acme', callId: 'c1', channel: 'customer', rule: 'SUSTAINED_NEGATIVE',
  segmentIndex: 3, valence: -1, value: -1, threshold: -0.5, message: 'customer: 3 segments in a row below -0.50 (highest -1.00)',
  eventTimeMs: 1_700_000_003_900, raisedAt: '2024-01-01T00:00:00.000Z',
};
const call: CallInfo = { callId: 'c1', tenant: 'acme', status: 'ACTIVE', startedAtMs: 1, endedAtMs: null, channels: [], segmentCount: 0, meta: {} };

test('score and call records keep their wire format', () => {
  const score = makeScore({ callId: 'c1' });
  const r = encodeScoresEvent({ kind: 'score', score }, 'inst-a');
  assert.deepEqual(r, { key: 'c1', value: JSON.stringify({ v: 1, score }), headers: { [KIND_HEADER]: 'score', [ORIGIN_HEADER]: 'inst-a' } });
  const c = encodeScoresEvent({ kind: 'call', call }, 'inst-a');
  assert.deepEqual(c, { key: 'c1', value: JSON.stringify({ v: 1, call }), headers: { [KIND_HEADER]: 'call', [ORIGIN_HEADER]: 'inst-a' } });
  assert.deepEqual(decodeScoresEvent('score', Buffer.from(r.value)), { kind: 'score', score });
  assert.deepEqual(decodeScoresEvent('call', c.value), { kind: 'call', call });
});

test('alert records: key is the call id, header kind "alert", round trip', () => {
  const r = encodeScoresEvent({ kind: 'alert', alert }, 'inst-a');
  assert.equal(r.key, 'c1');
  assert.deepEqual(r.headers, { [KIND_HEADER]: 'alert', [ORIGIN_HEADER]: 'inst-a' });
  assert.deepEqual(JSON.parse(r.value), { v: 1, alert });
  assert.deepEqual(decodeScoresEvent('alert', Buffer.from(r.value)), { kind: 'alert', alert });
});

test('malformed alert records are refused', () => {
  const enc = (a: unknown, v = 1) => JSON.stringify({ v, alert: a });
  assert.equal(decodeScoresEvent('alert', enc({ ...alert, rule: 'NOT_A_RULE' })), null, 'unknown rule');
  assert.equal(decodeScoresEvent('alert', enc({ ...alert, rule: 'toString' })), null, 'inherited property is not a rule');
  assert.equal(decodeScoresEvent('alert', enc({ ...alert, id: undefined })), null, 'no id');
  assert.equal(decodeScoresEvent('alert', enc({ ...alert, segmentIndex: '3' })), null, 'segment index not a number');
  assert.equal(decodeScoresEvent('alert', enc({ ...alert, eventTimeMs: null })), null, 'no event time');
  assert.equal(decodeScoresEvent('alert', enc(alert, 2)), null, 'other format version');
  assert.equal(decodeScoresEvent('alert', JSON.stringify({ v: 1, score: makeScore() })), null, 'a score under kind alert');
  assert.equal(decodeScoresEvent('score', enc(alert)), null, 'an alert under kind score');
  assert.equal(decodeScoresEvent('alerts', enc(alert)), null, 'unknown kind');
  assert.equal(decodeScoresEvent('alert', '{not json'), null);
  assert.equal(decodeScoresEvent('alert', null), null);
});
