/**
 * Demo calls on disk (fixtures/calls/<id>/, format in fixtures/calls/README.md): MELD dialogues
 * with two speakers, spoken by TTS as a two-channel telephone call, with face features.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FixtureUtterance {
  channel: string;
  startMs: number;
  endMs: number;
  text: string;
  label3?: string;
  emotion?: string;
}

export interface FixtureChannel {
  /** s16 PCM of the whole call timeline. */
  pcm: Int16Array;
  sampleRate: number;
  /** float32 [frames, featureDim] over the whole timeline, or null if the fixture has none. */
  video: Float32Array | null;
}

export interface FixtureCall {
  id: string;
  tenant: string;
  durationMs: number;
  utterances: FixtureUtterance[];
  channels: Map<string, FixtureChannel>;
  videoFps: number;
  videoDim: number;
  /** A name for people to read, sent as call_start's x-display-name: the customer speaker's name
   *  and the fixture id (call.json `speakers.customer.name`), or none. */
  displayName?: string;
}

function readInt16(path: string): Int16Array {
  const b = readFileSync(path);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength - (b.byteLength % 2)));
}

function readFloat32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength - (b.byteLength % 4)));
}

/** Loads every call under `dir`; throws with the path when a fixture is incomplete. */
export function loadFixtureCalls(dir: string): FixtureCall[] {
  if (!existsSync(dir)) throw new Error(`demo fixtures not found at ${dir}`);
  const calls: FixtureCall[] = [];
  for (const id of readdirSync(dir).sort()) {
    const callJson = join(dir, id, 'call.json');
    if (!existsSync(callJson)) continue;
    const meta = JSON.parse(readFileSync(callJson, 'utf8'));
    const sampleRate: number = meta.sampleRate ?? meta.audio?.sampleRate ?? 8000;
    const videoFps: number = meta.videoFps ?? meta.video?.fps ?? 10;
    const videoDim: number = meta.videoDim ?? meta.video?.featureDim ?? 24;
    const utterances: FixtureUtterance[] = meta.utterances;
    const channelNames: string[] = meta.channels ?? [...new Set(utterances.map((u) => u.channel))];
    const channels = new Map<string, FixtureChannel>();
    for (const ch of channelNames) {
      const pcmPath = join(dir, id, `${ch}.pcm`);
      if (!existsSync(pcmPath)) throw new Error(`demo fixture ${id} lacks ${pcmPath}`);
      const videoPath = join(dir, id, `${ch}.video.f32`);
      channels.set(ch, { pcm: readInt16(pcmPath), sampleRate, video: existsSync(videoPath) ? readFloat32(videoPath) : null });
    }
    const durationMs = meta.durationMs ?? Math.max(...[...channels.values()].map((c) => (c.pcm.length / sampleRate) * 1000));
    const customer: unknown = meta.speakers?.customer?.name;
    const displayName = typeof customer === 'string' && customer ? `${customer} (${id})` : undefined;
    calls.push({ id, tenant: meta.tenant ?? 'demo', durationMs, utterances, channels, videoFps, videoDim, ...(displayName ? { displayName } : {}) });
  }
  if (calls.length === 0) throw new Error(`no demo calls in ${dir}`);
  return calls;
}
