import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelFor } from '../../src/score/label.js';

const scale = { valenceMin: -3, valenceMax: 3, neutralBand: [-0.5, 0.5] as [number, number] };

test('valence -> label with the neutral band (edges are NEUTRAL)', () => {
  assert.deepEqual([-3, -0.51, -0.5, 0, 0.5, 0.51, 3].map((v) => labelFor(v, scale).label),
    ['NEGATIVE', 'NEGATIVE', 'NEUTRAL', 'NEUTRAL', 'NEUTRAL', 'POSITIVE', 'POSITIVE']);
});

test('confidence: 0 on a boundary, 1 at the band centre and at the scale ends, linear between', () => {
  const c = (v: number) => labelFor(v, scale).confidence;
  assert.equal(c(0), 1);
  assert.equal(c(0.5), 0);
  assert.equal(c(-0.25), 0.5);
  assert.equal(c(3), 1);
  assert.equal(c(-3), 1);
  assert.equal(c(1.75), 0.5);
  assert.equal(c(-1.75), 0.5);
  assert.equal(c(9), 1, 'clipped beyond the scale');
});

test('an asymmetric band and a zero-width band', () => {
  const asym = { valenceMin: -3, valenceMax: 3, neutralBand: [-1, 0] as [number, number] };
  assert.deepEqual(labelFor(-0.5, asym), { label: 'NEUTRAL', confidence: 1 });
  assert.deepEqual(labelFor(1.5, asym), { label: 'POSITIVE', confidence: 0.5 });
  const zero = { valenceMin: -3, valenceMax: 3, neutralBand: [0, 0] as [number, number] };
  assert.deepEqual(labelFor(0, zero), { label: 'NEUTRAL', confidence: 0 });
});
