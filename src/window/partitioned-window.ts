/**
 * The window stage for several instances: one Windower per source partition, plus hand-over.
 *
 * - Per partition: a call's chunks all come from one partition (key = call id), so a Windower
 *   per partition holds exactly the calls of that partition. When a rebalance revokes partitions
 *   (`assign`), their Windowers are dropped whole: their open windows are NOT sealed or scored
 *   (the new owner re-reads those chunks from the last commit and scores them), and `owns`
 *   turns false for their calls, so segments already in flight are not stored by the old owner.
 * - Hand-over: the first chunk of a call this instance does not know triggers `prepare`, which
 *   asks the store where the call stands (src/window/recovery.ts). An ACTIVE call whose first
 *   chunk met here is the record that opened it (`opensCall`; its previous owner held the commit
 *   point there, src/window/commit-hold.ts) is REPLAYED: windowed from scratch as its first owner
 *   did, each segment stored already at that revision or later released unscored. Otherwise
 *   (the CUT path, approximate), for a call already stored, media before each channel's last stored segment end is skipped (released; audio and video
 *   straddling it are trimmed), segment indices continue after the last stored one, and call
 *   updates are merged with the stored call (start, meta, segment count). A transcript piece
 *   before the hand-over point is released when a stored segment holds its text (a replay), and
 *   is CHUNK_TOO_LATE otherwise (its segment was sealed without it by the previous owner, whose
 *   history is gone).
 * - Finished calls: a call the store has as ENDED / TIMED_OUT is never windowed again, however
 *   it is re-read (from the middle after a crash, or from its call_start by a new consumer
 *   group replaying the topic). Windowing it again would cut it differently wherever the first
 *   pass was interrupted (a stop seals an utterance in two): the store would answer 'duplicate'
 *   for segments that hold other spans and texts, so their transcripts would be neither stored
 *   nor dead-lettered. Its media and control chunks are released without effect; a transcript
 *   piece is released when a stored segment holds its text and is CHUNK_TOO_LATE otherwise, as
 *   above (so a transcript that only came after the call ended is never lost silently; a replay
 *   dead-letters again what the first pass dead-lettered: the dead-letter topic, like the
 *   scores topic, is at least once).
 *
 * - Fencing (src/store/fencing.ts): a partition lost to another owner (`fence`: the store refused
 *   a write, or its epoch moved on while this process was paused) is dropped like a revoked one,
 *   and until a new assignment its chunks are dropped unreleased, undead-lettered: the new owner
 *   re-reads and scores them, and this instance must neither time out nor reject its calls.
 *   `reset` drops a partition's state but keeps it (re-claimed after another owner wrote).
 * - Calls left ACTIVE by a stopped owner (src/store/stale-calls.ts) are ended through `endStale`:
 *   the TIMED_OUT update is emitted on the next tick, and later chunks of the call are treated as
 *   those of a finished call.
 *
 * Bounds (per assigned partition, each Windower's own, src/window/options.ts): open calls,
 * closed calls, history budget. Recovered calls: `maxRecoveredCalls` (policy drop-oldest: a
 * forgotten recovered call is looked up again on its next chunk, which is correct, only slower).
 */
import { AppError } from '../core/errors.js';
import type { WindowOutput, WindowStage } from '../core/ports.js';
import { type CallInfo, callKey, type ChunkSourceRef, type MediaChunk, partitionKey, type Segment } from '../core/types.js';
import type { CallPosition } from './recovery.js';
import type { CommitHolds } from './commit-hold.js';

/** What the stage needs of a Windower (src/window/windower.ts). */
export interface PartitionWindower {
  accept(chunk: MediaChunk, nowWallMs: number): WindowOutput[];
  tick(nowWallMs: number, holdIdle?: boolean): WindowOutput[];
  flush(nowWallMs: number): WindowOutput[];
  call(tenant: string, callId: string): CallInfo | null;
  /** Calls (callKeys) sealed early for other calls' sake since the last call (Windower.takeEarlySealed). */
  takeEarlySealed?(): string[];
}

/**
 * A hand-over decision for a call met in storage ('replay' or 'cut'), or what the replay did with
 * one of its segments: 'suppressed' (stored already, same span), 'mismatch' (stored already with
 * another span: the first owner's cuts depended on more than the call's records; the stored one stays).
 */
export type HandoverEvent = 'replay' | 'cut' | 'suppressed' | 'mismatch';

export interface PartitionedWindowOptions {
  /** Builds the Windower of one partition. */
  make: () => PartitionWindower;
  /** Where a call stands in storage (null: never stored). Absent: no hand-over (one instance, tests). */
  recover?: (callId: string, tenant: string) => Promise<CallPosition | null>;
  /** Recovered calls remembered, policy drop-oldest. Default 10_000. */
  maxRecoveredCalls?: number;
  /** Calls remembered as looked up, policy drop-oldest. Default 100_000 (~10 MB). */
  maxKnownCalls?: number;
  /** True while the source reads a backlog of the partition ("topic/partition"): its calls'
   *  idle timeouts wait (docs/lifecycle.md, flow control). Absent: never. */
  behind?: (partition: string) => boolean;
  /** Counts chunks skipped because an earlier owner already scored their media. */
  onSkip?: (chunk: MediaChunk, reason: 'scored' | 'call-ended' | 'call-start') => void;
  /** Commit holds on the records that opened calls (exact hand-over). Absent: none. */
  holds?: CommitHolds;
  /** Told of each hand-over decision and each replayed segment found stored (metrics, logs). */
  onHandover?: (event: HandoverEvent, call: { tenant: string; callId: string }) => void;
}

interface Recovered {
  pos: CallPosition;
  /** Partition key of the call. */
  part: string;
  ended: boolean;
  /** (channel, modality) streams that got their first kept chunk: later ones pass unfiltered. */
  passing: Set<string>;
  /** Segments stored before the hand-over (indices 0..nextIndex-1 of each channel). */
  storedSegments: number;
  /** How an ACTIVE call continues, decided on its first chunk met here: 'replay' (that chunk
   *  opened the call: it is windowed from scratch, stored segments suppressed) or 'cut' (met
   *  mid-way: continued from the stored cut with a fresh window state, approximate). */
  mode?: 'replay' | 'cut';
}

const EPS = 0.5;
const NO_SOURCE = 'none';
const partOf = (ref: ChunkSourceRef | undefined): string => (ref ? partitionKey(ref) : NO_SOURCE);

export class PartitionedWindow implements WindowStage {
  private readonly windowers = new Map<string, PartitionWindower>();
  private readonly recovered = new Map<string, Recovered>();
  /** callKey (tenant, callId) -> partition key, for calls looked up (or opened) here; insertion
   *  order = age. `recovered` is keyed by callKey too: a call is (tenant, callId) everywhere. */
  private readonly known = new Map<string, string>();
  private assigned: Set<string> | null = null;
  /** Partitions lost to another owner since the last assignment: their chunks are dropped. */
  private readonly fenced = new Set<string>();
  /** Highest source offset seen per partition (stale-call sweeping waits until it is caught up). */
  private readonly seen = new Map<string, bigint>();
  /** Call updates queued by `endStale`, emitted on the next tick. */
  private stale: WindowOutput[] = [];
  private readonly maxRecovered: number;
  private readonly maxKnown: number;

  constructor(private readonly o: PartitionedWindowOptions) {
    this.maxRecovered = o.maxRecoveredCalls ?? 10_000;
    this.maxKnown = o.maxKnownCalls ?? 100_000;
  }

  /** Looks a call up in storage the first time this instance meets it. Store errors propagate (retry). */
  async prepare(chunk: MediaChunk): Promise<void> {
    const key = callKey(chunk.tenant, chunk.callId);
    if (this.known.has(key)) return;
    const part = partOf(chunk.source);
    if (this.windowers.get(part)?.call(chunk.tenant, chunk.callId)) return void this.remember(key, part);
    const pos = this.o.recover ? await this.o.recover(chunk.callId, chunk.tenant) : null;
    // A call stored with no segment yet needs nothing: the store merges its call updates.
    if (pos && (pos.channels.size > 0 || pos.call.status !== 'ACTIVE')) {
      let storedSegments = 0;
      for (const c of pos.channels.values()) storedSegments += c.nextIndex;
      const ended = pos.call.status !== 'ACTIVE';
      this.recovered.set(key, { pos, part, ended, passing: new Set(), storedSegments });
      if (this.recovered.size > this.maxRecovered) this.recovered.delete(this.recovered.keys().next().value as string);
    }
    this.remember(key, part);
  }

  accept(chunk: MediaChunk, nowWallMs: number): WindowOutput[] {
    const part = partOf(chunk.source);
    // Lost to another owner: neither release (the new owner commits) nor reject (not ours to judge).
    if (this.fenced.has(part)) return [];
    if (chunk.source) {
      const off = BigInt(chunk.source.offset);
      if (off > (this.seen.get(part) ?? -1n)) this.seen.set(part, off);
    }
    const w = this.windower(part);
    const key = callKey(chunk.tenant, chunk.callId);
    const rec = this.recovered.get(key);
    if (rec && !rec.ended && rec.mode === undefined) this.decide(rec, chunk);
    const opening = chunk.source !== undefined && this.o.holds?.enabled === true && (!rec || rec.mode === 'replay') && w.call(chunk.tenant, chunk.callId) === null;
    const out = !rec || rec.mode === 'replay' ? this.map(w.accept(chunk, nowWallMs)) : this.continueCut(rec, w, chunk, nowWallMs);
    // The record that opened the call is held until the call's final status is stored.
    if (opening && w.call(chunk.tenant, chunk.callId) !== null && !out.some((ev) => ev.type === 'rejected' && ev.chunk === chunk)) {
      this.o.holds!.hold(part, key, chunk.source!, chunk.eventTimeMs);
    }
    out.push(...this.bound(part, key, chunk, w));
    return tag(part, out);
  }

  /** A chunk of a call met mid-way, continued from the stored cut (filtered, trimmed, renumbered). */
  private continueCut(rec: Recovered, w: PartitionWindower, chunk: MediaChunk, nowWallMs: number): WindowOutput[] {
    const kept = this.filter(rec, w, chunk);
    if (kept === 'call-end') return this.endRecovered(rec, chunk);
    if (kept === 'too-late') {
      const cursor = rec.pos.channels.get(chunk.channel)?.endMs ?? rec.pos.call.endedAtMs ?? rec.pos.call.startedAtMs;
      return [{ type: 'rejected', chunk, error: new AppError('CHUNK_TOO_LATE', { eventTimeMs: chunk.eventTimeMs, watermarkMs: cursor }) }];
    }
    if (typeof kept === 'string') {
      this.o.onSkip?.(chunk, kept);
      return chunk.source ? [{ type: 'release', refs: [chunk.source] }] : [];
    }
    return this.map(w.accept(kept, nowWallMs));
  }

  /**
   * Replay or cut: replay when the first chunk met here is the one that opened the call (its
   * previous owner held the commit point there, src/window/commit-hold.ts), so every record of
   * the call follows in the order its first owner read them. The opener is the call_start at the
   * call's start time, or, for a call opened by media, the first channel's seq-0 chunk at it.
   */
  private decide(rec: Recovered, c: MediaChunk): void {
    const replayable = [...rec.pos.channels.values()].every((ch) => ch.stored !== null);
    rec.mode = replayable && opensCall(rec.pos.call, c) ? 'replay' : 'cut';
    this.o.onHandover?.(rec.mode, c);
  }

  /** The hold bounds after a chunk (span, records, early seals): records to release now. */
  private bound(part: string, key: string, chunk: MediaChunk, w: PartitionWindower): WindowOutput[] {
    const early = w.takeEarlySealed?.() ?? [];
    const holds = this.o.holds;
    if (!holds || part === NO_SOURCE) return [];
    const refs = holds.check(part, key, chunk.eventTimeMs, this.seen.get(part));
    for (const k of early) refs.push(...holds.giveUp(part, k, 'early-seal'));
    return refs.length ? [{ type: 'release', refs }] : [];
  }

  /** Of refs whose work is done, those that may be released now (held openers wait: `finished`). */
  releasable(refs: ChunkSourceRef[]): ChunkSourceRef[] {
    return this.o.holds ? this.o.holds.releasable(refs) : refs;
  }

  /** The call's final status is stored: the record that opened it, to release now (if held and done). */
  finished(call: CallInfo, partition: string | undefined): ChunkSourceRef[] {
    if (!this.o.holds || partition === undefined) return [];
    return this.o.holds.end(partition, callKey(call.tenant, call.callId));
  }

  tick(nowWallMs: number): WindowOutput[] {
    const out: WindowOutput[] = this.stale;
    this.stale = [];
    for (const [part, w] of this.windowers) out.push(...tag(part, this.map(w.tick(nowWallMs, this.o.behind?.(part) ?? false))));
    return out;
  }

  flush(nowWallMs: number): WindowOutput[] {
    const out: WindowOutput[] = [];
    for (const [part, w] of this.windowers) out.push(...tag(part, this.map(w.flush(nowWallMs))));
    // The flush cuts open calls at the stop, where a replay would not: their holds end, and the
    // next owner continues them from the stored cut (today's approximate path).
    const held = this.o.holds?.releaseAll() ?? [];
    if (held.length) out.push({ type: 'release', refs: held });
    return out;
  }

  /**
   * The source's new assignment ("topic/partition" keys). Windowers of partitions no longer
   * assigned are dropped without sealing; their calls are forgotten (looked up again if they return).
   */
  assign(partitions: Iterable<string>): string[] {
    this.assigned = new Set(partitions);
    this.assigned.add(NO_SOURCE);
    for (const p of this.assigned) this.fenced.delete(p);
    const dropped: string[] = [];
    for (const key of [...this.windowers.keys()]) {
      if (!this.assigned.has(key)) {
        this.drop(key);
        dropped.push(key);
      }
    }
    for (const [key, part] of this.known) if (!this.assigned.has(part)) this.known.delete(key);
    for (const [key, r] of this.recovered) if (!this.assigned.has(r.part)) this.recovered.delete(key);
    for (const p of [...this.seen.keys()]) if (!this.assigned.has(p)) this.seen.delete(p);
    return dropped;
  }

  /** The partition was lost to another owner: drop its state, and its chunks until it is assigned again. */
  fence(part: string): void {
    this.fenced.add(part);
    this.drop(part);
  }

  /** The partition stays here but another owner wrote in between: forget its state (calls are looked up again). */
  reset(part: string): void {
    this.drop(part);
  }

  /** False once the partition of the segment's call was revoked or fenced: its score must not be stored here. */
  owns(segment: Segment): boolean {
    const ref = segment.sources[0];
    const part = ref ? partOf(ref) : this.known.get(callKey(segment.tenant, segment.callId));
    if (part !== undefined && this.fenced.has(part)) return false;
    if (!this.assigned) return true;
    return part === undefined || this.assigned.has(part);
  }

  /** The partition key ("topic/partition") of a call this instance met; undefined if unknown. */
  partitionOf(tenant: string, callId: string): string | undefined {
    return this.known.get(callKey(tenant, callId));
  }

  /** True when this instance met the call since it got the call's partition (it times the call out itself). */
  holds(tenant: string, callId: string): boolean {
    return this.known.has(callKey(tenant, callId));
  }

  /** Highest source offset fed to the window for a partition (undefined: none since it was assigned). */
  seenOffset(part: string): bigint | undefined {
    return this.seen.get(part);
  }

  /**
   * Ends a call its previous owner left ACTIVE (src/store/stale-calls.ts): TIMED_OUT at the end of
   * its last stored segment, emitted on the next tick; later chunks of it are those of a finished
   * call. False when the call was met here meanwhile (the window times it out itself).
   */
  endStale(call: CallInfo, endedAtMs: number, part: string): boolean {
    const key = callKey(call.tenant, call.callId);
    if (this.known.has(key) || this.fenced.has(part)) return false;
    const ended: CallInfo = { ...call, channels: [...call.channels], meta: { ...call.meta }, status: 'TIMED_OUT', endedAtMs };
    this.remember(key, part);
    this.recovered.set(key, { pos: { call: ended, channels: new Map(), lastScores: [] }, part, ended: true, passing: new Set(), storedSegments: call.segmentCount });
    this.stale.push({ type: 'call', call: ended, partition: part, error: new AppError('CALL_IDLE_TIMEOUT', { callId: call.callId, idleMs: 'unknown (left ACTIVE by a stopped owner)' }) });
    return true;
  }

  private drop(part: string): void {
    this.windowers.delete(part);
    this.o.holds?.drop(part);
    this.seen.delete(part);
    for (const [key, p] of this.known) if (p === part) this.known.delete(key);
    for (const [key, r] of this.recovered) if (r.part === part) this.recovered.delete(key);
    this.stale = this.stale.filter((ev) => ev.type !== 'call' || this.known.has(callKey(ev.call.tenant, ev.call.callId)));
  }

  /** Open Windowers (one per partition seen and still assigned). */
  partitions(): string[] {
    return [...this.windowers.keys()];
  }

  private windower(part: string): PartitionWindower {
    let w = this.windowers.get(part);
    if (!w) this.windowers.set(part, (w = this.o.make()));
    return w;
  }

  private remember(key: string, part: string): void {
    this.known.delete(key);
    this.known.set(key, part);
    if (this.known.size > this.maxKnown) this.known.delete(this.known.keys().next().value as string);
  }

  /** The chunk to feed the Windower (maybe trimmed), or why it is skipped. */
  private filter(rec: Recovered, w: PartitionWindower, c: MediaChunk): MediaChunk | 'scored' | 'call-ended' | 'call-start' | 'call-end' | 'too-late' {
    if (rec.ended) return c.modality === 'text' ? (heldByStored(rec, c) ? 'scored' : 'too-late') : 'call-ended';
    if (c.modality === 'control') {
      if (c.kind === 'call_start') return 'call-start'; // the call exists; the stored one keeps its start and meta
      return w.call(c.tenant, c.callId) ? c : 'call-end';
    }
    const stream = `${c.channel}\u0000${c.modality}`;
    const cursor = rec.pos.channels.get(c.channel)?.endMs;
    if (cursor === undefined || rec.passing.has(stream)) return c;
    const end = c.eventTimeMs + c.durationMs;
    if (c.modality === 'text') {
      const mid = c.eventTimeMs + c.durationMs / 2;
      if (mid < cursor) return heldByStored(rec, c) ? 'scored' : 'too-late';
    } else if (end <= cursor + EPS) {
      return 'scored';
    }
    rec.passing.add(stream);
    if (c.eventTimeMs >= cursor - EPS || c.modality === 'text') return c;
    if (c.modality === 'audio') {
      const k = Math.round(((cursor - c.eventTimeMs) * c.sampleRate) / 1000);
      const cut = (k * 1000) / c.sampleRate;
      return { ...c, eventTimeMs: c.eventTimeMs + cut, durationMs: c.durationMs - cut, samples: c.samples.subarray(k) };
    }
    const frames = c.frames.length / c.featureDim;
    const k = Math.min(frames, Math.ceil(((cursor - c.eventTimeMs) * c.fps) / 1000 - 1e-9));
    const cut = (k * 1000) / c.fps;
    return { ...c, eventTimeMs: c.eventTimeMs + cut, durationMs: Math.max(0, c.durationMs - cut), frames: c.frames.subarray(k * c.featureDim) };
  }

  /** call_end of a recovered call that sent no media since the hand-over: end the stored call. */
  private endRecovered(rec: Recovered, c: MediaChunk): WindowOutput[] {
    rec.ended = true;
    const call: CallInfo = { ...rec.pos.call, channels: [...rec.pos.call.channels], meta: { ...rec.pos.call.meta }, status: 'ENDED', endedAtMs: Math.max(c.eventTimeMs, rec.pos.call.startedAtMs) };
    const out: WindowOutput[] = [{ type: 'call', call }];
    if (c.source) out.push({ type: 'release', refs: [c.source] });
    return out;
  }

  /**
   * A segment of a replayed call that its previous owner stored already (same channel and index,
   * at this revision or a later one): released without scoring. Null: not stored, score it.
   */
  private replayed(rec: Recovered, seg: Segment): WindowOutput | null {
    const stored = rec.pos.channels.get(seg.channel)?.stored?.get(seg.index);
    if (!stored || stored.revision < seg.revision) return null;
    const same = Math.abs(stored.startMs - seg.startMs) < 1 && Math.abs(stored.endMs - seg.endMs) < 1;
    this.o.onHandover?.(same ? 'suppressed' : 'mismatch', seg);
    return { type: 'release', refs: seg.sources };
  }

  /** Continues indices and merges call updates of recovered calls. */
  private map(events: WindowOutput[]): WindowOutput[] {
    if (this.recovered.size === 0) return events;
    return events.map((ev) => {
      if (ev.type === 'segment') {
        const rec = this.recovered.get(callKey(ev.segment.tenant, ev.segment.callId));
        if (rec?.mode === 'replay') return this.replayed(rec, ev.segment) ?? ev;
        const pos = rec?.pos.channels.get(ev.segment.channel);
        if (!pos) return ev;
        // The Windower opens a channel one allowed lateness before its first chunk; no media lies
        // before the stored end, so the span starts there and never overlaps a stored segment.
        return { ...ev, segment: { ...ev.segment, index: ev.segment.index + pos.nextIndex, startMs: Math.max(ev.segment.startMs, pos.endMs) } };
      }
      if (ev.type === 'call') {
        const rec = this.recovered.get(callKey(ev.call.tenant, ev.call.callId));
        if (!rec) return ev;
        const stored = rec.pos.call;
        // A replayed call's window rebuilds the stored state itself, counting the stored segments;
        // until it catches up, its updates must not look like the call went backwards.
        const count = rec.mode === 'replay' ? Math.max(stored.segmentCount, ev.call.segmentCount) : rec.storedSegments + ev.call.segmentCount;
        const channels = [...stored.channels, ...ev.call.channels.filter((ch) => !stored.channels.includes(ch))];
        return {
          ...ev,
          call: {
            ...ev.call,
            startedAtMs: Math.min(stored.startedAtMs, ev.call.startedAtMs),
            channels,
            segmentCount: count,
            meta: { ...stored.meta, ...ev.call.meta },
          },
        };
      }
      return ev;
    });
  }
}

/**
 * True when `c` can be the record that opened `call` in its first owner's window: its call_start,
 * or (a call opened by media) the seq-0 audio or video chunk of the channel the call was opened
 * on, which the window lists first (Windower.openCall). Not the start time: the store lowers a call's start to
 * its earliest segment's, which begins up to one allowed lateness before the first chunk.
 * It is the opener whenever the previous owner held the commit point there; a hold given up
 * early (commit-hold.ts) can let a later candidate be met first: see docs/operations.md.
 */
export function opensCall(call: CallInfo, c: MediaChunk): boolean {
  if (c.modality === 'control') return c.kind === 'call_start';
  // Audio or video only: a transcript's seq-0 piece follows its channel's media (a call opened by
  // a transcript alone is continued from the cut).
  return c.modality !== 'text' && c.seq === 0 && c.channel === call.channels[0] && c.eventTimeMs >= call.startedAtMs;
}

/** Names the source partition on the call updates of a partition's Windower (their fence token's partition). */
function tag(part: string, events: WindowOutput[]): WindowOutput[] {
  if (part === NO_SOURCE) return events;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    if (ev.type === 'call') events[i] = { ...ev, partition: part };
  }
  return events;
}

/**
 * True when a stored segment of the piece's channel holds its text (the piece is a replay): one
 * that overlaps the piece (the Windower's rule for where a late piece goes, src/window/history.ts)
 * and whose text contains it. A piece reaching back before the recovery bound
 * (RECOVERY_TEXT_SPANS) cannot be checked and counts as held.
 */
function heldByStored(rec: Recovered, c: MediaChunk & { modality: 'text' }): boolean {
  const pos = rec.pos.channels.get(c.channel);
  if (!pos) return false;
  const start = c.eventTimeMs;
  const end = c.eventTimeMs + c.durationMs;
  const text = c.text.trim();
  const held = pos.spans.some((x) => {
    const overlaps = Math.min(end, x.endMs) - Math.max(start, x.startMs) > 0 || (start === end && start >= x.startMs && start < x.endMs);
    return overlaps && x.text.includes(text);
  });
  return held || start < pos.uncheckedBeforeMs;
}
