/**
 * Reads a PCM WAV file (RIFF/WAVE, 16-bit integer samples, mono or stereo) into one Int16Array
 * per channel. Other encodings are refused with a message naming what was found, since the
 * chunk contract carries 16-bit PCM only.
 */
export interface Wav {
  sampleRate: number;
  /** One array per channel (left, right for stereo). */
  channels: Int16Array[];
  /** Duration, ms. */
  durationMs: number;
}

const PCM = 1;
const EXTENSIBLE = 0xfffe;

export function parseWav(buf: Buffer): Wav {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  let data: Buffer | null = null;
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = buf.subarray(at + 8, Math.min(buf.length, at + 8 + size));
    if (id === 'fmt ') {
      if (body.length < 16) throw new Error('fmt chunk is too short');
      let format = body.readUInt16LE(0);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of its sub-format GUID.
      if (format === EXTENSIBLE && body.length >= 26) format = body.readUInt16LE(24);
      fmt = { format, channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === 'data') data = body;
    at += 8 + size + (size % 2);
  }
  if (!fmt) throw new Error('no fmt chunk');
  if (!data) throw new Error('no data chunk');
  if (fmt.format !== PCM || fmt.bits !== 16) throw new Error(`only 16-bit PCM is supported (format ${fmt.format}, ${fmt.bits} bits); convert with e.g. sox in.wav -b 16 -e signed-integer out.wav`);
  if (fmt.channels < 1 || fmt.channels > 2) throw new Error(`${fmt.channels} channels: mono (one channel) or stereo (customer, agent) only`);
  const frames = Math.floor(data.length / (2 * fmt.channels));
  const channels = Array.from({ length: fmt.channels }, () => new Int16Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < fmt.channels; c++) channels[c][i] = data.readInt16LE(2 * (i * fmt.channels + c));
  }
  return { sampleRate: fmt.rate, channels, durationMs: (frames * 1000) / fmt.rate };
}
