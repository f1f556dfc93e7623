/**
 * The byte-level pieces of the WebSocket ingest: the contract's framing (every malformed frame
 * is INGEST_BAD_FRAME with its reason), the server's mu-law decoder against the test clients'
 * independent G.711 encoder, and the CLI's WAV reader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWav } from '../../../src/cli/wav.js';
import { AppError } from '../../../src/core/errors.js';
import { decodeFrame, encodeFrame, MAX_HEADER_BLOCK_BYTES } from '../../../src/ingest/ws/frame.js';
import { mulawToLinear, mulawToPcm16 } from '../../../src/ingest/ws/mulaw.js';
import { linearToMulaw } from './clients/g711.js';
import { fixtureWav } from './support.js';

test('a framed record reads back as it was written', () => {
  const value = Buffer.from([1, 2, 3, 4]);
  const r = decodeFrame(encodeFrame({ key: 'call-ü', headers: { 'x-seq': '3', 'x-modality': 'audio' }, value }));
  assert.equal(r.key.toString('utf8'), 'call-ü');
  assert.deepEqual(r.headers, { 'x-seq': '3', 'x-modality': 'audio' });
  assert.deepEqual(r.value, value);
});

test('every malformed frame is INGEST_BAD_FRAME naming what is wrong', () => {
  const block = (json: string, extra = Buffer.alloc(0)) => {
    const b = Buffer.from(json, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32BE(b.length, 0);
    return Buffer.concat([n, b, extra]);
  };
  const huge = Buffer.alloc(8);
  huge.writeUInt32BE(MAX_HEADER_BLOCK_BYTES + 1, 0);
  const short = Buffer.alloc(8);
  short.writeUInt32BE(100, 0);
  const cases: [Buffer, RegExp][] = [
    [Buffer.from([0, 1]), /no header length/],
    [huge, /exceeds/],
    [short, /runs past/],
    [block('{nope'), /not UTF-8 JSON/],
    [Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from([0xc3, 0x28])]), /not UTF-8 JSON/],
    [block('[1]'), /not a JSON object/],
    [block('{"headers":{}}'), /no string "key"/],
    [block('{"key":"c","headers":[]}'), /no "headers" object/],
    [block('{"key":"c","headers":{"x-seq":3}}'), /x-seq is not a string/],
  ];
  for (const [frame, reason] of cases) {
    assert.throws(() => decodeFrame(frame), (e: unknown) => e instanceof AppError && e.code === 'INGEST_BAD_FRAME' && reason.test(e.message), String(reason));
  }
});

test('mu-law: the decoder inverts an independent G.711 encoder on all 256 codes, and on every fixture sample', () => {
  for (let code = 0; code < 256; code++) {
    const linear = mulawToLinear(code);
    // 0x7f and 0xff both decode to 0 (negative and positive zero); the encoder picks 0xff.
    assert.equal(linearToMulaw(linear), code === 0x7f ? 0xff : code, `code ${code} -> ${linear}`);
  }
  assert.equal(mulawToLinear(0x80), 32124);
  assert.equal(mulawToLinear(0x00), -32124);
  assert.equal(mulawToLinear(0xfe), 8);
  const wav = fixtureWav();
  for (const ch of wav.channels) {
    const bytes = Buffer.from(Array.from(ch, linearToMulaw));
    const back = mulawToPcm16(bytes);
    for (let i = 0; i < ch.length; i++) if (back.readInt16LE(2 * i) !== ch[i]) assert.fail(`sample ${i}: ${ch[i]} is not mu-law exact`);
  }
});

test('mulawToPcm16 reads one channel of interleaved stereo', () => {
  const stereo = Buffer.from([0xff, 0x80, 0xfe, 0x00]);
  assert.deepEqual([0, 1].map((i) => mulawToPcm16(stereo, 0, 2).readInt16LE(2 * i)), [0, 8]);
  assert.deepEqual([0, 1].map((i) => mulawToPcm16(stereo, 1, 2).readInt16LE(2 * i)), [32124, -32124]);
});

function wavBytes(channels: number, rate: number, samples: number[], bits = 16, format = 1): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(s, 2 * i));
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(format, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

test('WAV: mono is one channel, stereo splits left/right; other encodings are refused with the reason', () => {
  const mono = parseWav(wavBytes(1, 16000, [1, -2, 3]));
  assert.equal(mono.sampleRate, 16000);
  assert.deepEqual(mono.channels.map((c) => [...c]), [[1, -2, 3]]);
  const stereo = parseWav(wavBytes(2, 8000, [1, 10, 2, 20]));
  assert.deepEqual(stereo.channels.map((c) => [...c]), [[1, 2], [10, 20]]);
  assert.equal(stereo.durationMs, 0.25);
  assert.throws(() => parseWav(wavBytes(1, 8000, [0], 16, 3)), /only 16-bit PCM/);
  assert.throws(() => parseWav(wavBytes(3, 8000, [0, 0, 0])), /3 channels/);
  assert.throws(() => parseWav(Buffer.from('RIFF....WAVE')), /no fmt chunk/);
  const fixture = fixtureWav();
  assert.deepEqual([fixture.sampleRate, fixture.channels.length, Math.round(fixture.durationMs)], [8000, 2, 15022]);
});
