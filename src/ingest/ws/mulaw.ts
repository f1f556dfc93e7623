/**
 * G.711 mu-law (PCMU) to 16-bit linear PCM, as Twilio Media Streams and Genesys AudioHook send
 * it (8 kHz, one byte per sample). Decoding only: the server never sends audio back.
 */

/** The 256 decoded values, built once (ITU-T G.711: bias 0x84, bits stored inverted). */
const TABLE: Int16Array = (() => {
  const t = new Int16Array(256);
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff;
    const exponent = (u >> 4) & 0x07;
    const magnitude = ((((u & 0x0f) << 3) + 0x84) << exponent) - 0x84;
    t[i] = u & 0x80 ? -magnitude : magnitude;
  }
  return t;
})();

/** One mu-law byte -> its linear 16-bit sample. */
export function mulawToLinear(byte: number): number {
  return TABLE[byte & 0xff];
}

/**
 * Samples `start, start + step, ...` of a mu-law buffer as s16le bytes: step 1 reads mono,
 * step 2 with start 0 / 1 reads the left / right channel of interleaved stereo.
 */
export function mulawToPcm16(mulaw: Buffer, start = 0, step = 1): Buffer {
  const n = Math.max(0, Math.ceil((mulaw.length - start) / step));
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) out.writeInt16LE(TABLE[mulaw[start + i * step]], 2 * i);
  return out;
}
