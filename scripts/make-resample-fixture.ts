/**
 * Writes models/fixtures/resample-8k-16k.json: a fixed 8 kHz test signal and what ingest's
 * resampler (src/ingest/resample.ts) makes of it at 16 kHz, so the Python port that the speech
 * feature caches use (models/sdumc/speech/served_audio.py) is checked against the served code.
 *
 *   node --import tsx scripts/make-resample-fixture.ts
 */
import { writeFileSync } from 'node:fs';
import { resample } from '../src/ingest/resample.js';

const n = 300;
const x = new Float32Array(n);
// tones near and past the pass-band edge plus a deterministic rough component
for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.37) * 0.5 + Math.cos(i * 1.91) * 0.3 + (((i * 7919) % 13) - 6) / 40;
const y = resample(x, 8000, 16000);
const out = { command: 'node --import tsx scripts/make-resample-fixture.ts', fromRate: 8000, toRate: 16000, x: Array.from(x), y: Array.from(y) };
writeFileSync(new URL('../models/fixtures/resample-8k-16k.json', import.meta.url), JSON.stringify(out) + '\n');
