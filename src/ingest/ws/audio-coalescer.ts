/**
 * Joins a platform's small audio frames into contract records of about `recordMs` per channel
 * before they enter the pipeline (Twilio Media Streams sends 20 ms frames; AudioHook clients
 * whatever size they choose).
 *
 * Why: every record costs the same fixed work downstream whatever its length (an inbox turn, a
 * source slot or a Kafka message, decode, a resampling call, a window step, an ack or a commit).
 * Measured side by side at 50 calls (docs/benchmarks.md "Audio record size"), 20 ms records
 * cost the server 1.7x the CPU per call-second of 200 ms records, its main thread 2.5x; a
 * Twilio call joined into 200 ms records costs 0.64-0.75x what it did frame by frame. The
 * decoder resamples each record alone and mirror-extends its edges (src/ingest/resample.ts:
 * 1 ms each side), which touches 10 % of a 20 ms record's samples and 1 % of a 200 ms one's.
 *
 * A record is let go when it holds `recordMs` of audio, before a frame that does not continue it
 * in time (a lost frame, skipped or discarded time: the window fills short gaps with silence),
 * and on `flush` (a pause, the end of the stream). There is no timer: a live stream's frames
 * arrive in real time, so a record holds its first frame at most `recordMs` while frames keep
 * coming, and a stream that stalls holds at most that much audio until it goes on or ends. The
 * price is latency: up to `recordMs` (half of it on average) before the window sees a frame.
 *
 * Records of a channel are numbered 0, 1, ... (x-seq); a record's event time is its first
 * frame's. `recordMs` 0 (or below one frame) passes every frame on as its own record.
 */
import { audioRecord, type ContractRecord } from './session.js';

/** A frame continues the open record when its start is within this of the record's end, ms
 *  (platform timestamps are whole milliseconds). */
const CONTINUITY_MS = 1;

interface Open {
  startMs: number;
  samples: number;
  parts: Buffer[];
}

export class AudioCoalescer {
  private readonly open = new Map<string, Open>();
  private readonly seqs = new Map<string, number>();
  private readonly targetSamples: number;

  /**
   * @param callId, tenant  the call the records belong to
   * @param rate            samples per second of every frame (one rate per stream)
   * @param recordMs        audio per record, ms
   * @param push            sends a record on (waits while the source is full: the backpressure)
   */
  constructor(
    private readonly callId: string,
    private readonly tenant: string,
    private readonly rate: number,
    recordMs: number,
    private readonly push: (record: ContractRecord) => Promise<void>,
  ) {
    this.targetSamples = Math.max(1, Math.round((recordMs * rate) / 1000));
  }

  /** Adds one frame of `channel` (s16le PCM starting at `eventTimeMs`); pushes what is complete. */
  async add(channel: string, eventTimeMs: number, pcm: Buffer): Promise<void> {
    const o = this.open.get(channel);
    if (o && Math.abs(eventTimeMs - this.endMs(o)) > CONTINUITY_MS) await this.flushChannel(channel);
    let cur = this.open.get(channel);
    if (!cur) this.open.set(channel, (cur = { startMs: eventTimeMs, samples: 0, parts: [] }));
    cur.parts.push(pcm);
    cur.samples += pcm.length / 2;
    if (cur.samples >= this.targetSamples) await this.flushChannel(channel);
  }

  /** Pushes every channel's open record (before a pause or the end of the stream). */
  async flush(): Promise<void> {
    for (const channel of [...this.open.keys()]) await this.flushChannel(channel);
  }

  private endMs(o: Open): number {
    return o.startMs + (o.samples * 1000) / this.rate;
  }

  private async flushChannel(channel: string): Promise<void> {
    const o = this.open.get(channel);
    if (!o) return;
    this.open.delete(channel);
    const seq = this.seqs.get(channel) ?? 0;
    this.seqs.set(channel, seq + 1);
    const pcm = o.parts.length === 1 ? o.parts[0] : Buffer.concat(o.parts);
    await this.push(audioRecord(this.callId, this.tenant, channel, seq, o.startMs, pcm, this.rate));
  }
}
