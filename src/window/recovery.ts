/**
 * Where a call stands in storage, so an instance that meets a call mid-way (it took the call's
 * partition over in a rebalance, or restarted) continues the call's segment numbering instead of
 * starting again at 0, and skips the media its predecessor already scored.
 *
 * Why this is enough: the pipeline stores a call's work in order (one tail per call), so when
 * segment k of a call is stored, every earlier segment of that call is stored (or was given up).
 * The last stored segment of each channel is therefore the exact hand-over point.
 */
import type { ScoreStore } from '../core/ports.js';
import type { CallInfo, SegmentScore } from '../core/types.js';

/** One channel's position: the next segment index and the event time already covered, ms. */
export interface ChannelPosition {
  nextIndex: number;
  /** End of the last stored segment, unix ms of event time. Media before it was scored. */
  endMs: number;
  /** Spans and texts of the stored segments that hold text (the newest RECOVERY_TEXT_SPANS,
   *  oldest first): tells a replayed transcript piece (in a stored text) from one that came too
   *  late for its segment (no stored text holds it). */
  spans: { startMs: number; endMs: number; text: string }[];
  /** End of the newest text span dropped by the RECOVERY_TEXT_SPANS bound, unix ms; -Infinity
   *  when none was. A piece before it cannot be checked and counts as a replay. */
  uncheckedBeforeMs: number;
  /** Every stored segment of the channel by index: its latest revision and span (a hand-over
   *  replay suppresses what is stored and checks that it cut the same span). Null when the
   *  channel has more than RECOVERY_REPLAY_SEGMENTS (the call is then not replayed). */
  stored: Map<number, StoredSegment> | null;
}

/** What a hand-over replay needs of one stored segment. */
export interface StoredSegment {
  revision: number;
  startMs: number;
  endMs: number;
}

/**
 * Stored segments kept per channel for a hand-over replay (about 5 KB per 100). A call open less
 * than the replay bound (HANDOVER_REPLAY_MAX_MS, 15 min) holds far fewer: one every 1-12 s.
 */
export const RECOVERY_REPLAY_SEGMENTS = 4096;

/**
 * Text-bearing stored segments kept per channel for telling replays from late transcripts
 * (policy drop-oldest). Segments without text need no entry: a piece inside one is too late
 * either way. 1024 utterances is well over an hour of one speaker's turns.
 */
export const RECOVERY_TEXT_SPANS = 1024;

export interface CallPosition {
  call: CallInfo;
  channels: Map<string, ChannelPosition>;
  /** The latest stored score of each channel (latest revision): republished on recovery, because
   *  the instance that stored it may have died before publishing it (the hub drops repeats). */
  lastScores: SegmentScore[];
}

/** Page size used to walk a call's stored segments (the store's maximum is 1000). */
export const RECOVERY_PAGE_SIZE = 500;

/**
 * Reads the call and its stored segments. Null when the store has never seen the call (the
 * common case: a new call costs one getCall). Throws the store's error (STORE_UNAVAILABLE) so
 * the caller retries: guessing would double count.
 */
export async function recoverCall(store: Pick<ScoreStore, 'getCall' | 'getSegments'>, callId: string, tenant: string): Promise<CallPosition | null> {
  const call = await store.getCall(callId, tenant);
  if (!call) return null;
  const last = new Map<string, SegmentScore>();
  const spans = new Map<string, ChannelPosition['spans']>();
  const unchecked = new Map<string, number>();
  const stored = new Map<string, Map<number, StoredSegment> | null>();
  let after: string | undefined;
  for (;;) {
    const page = await store.getSegments({ tenant, callId, first: RECOVERY_PAGE_SIZE, after, latestOnly: true });
    for (const { node } of page.items) {
      const prev = last.get(node.channel);
      if (!prev || node.segmentIndex > prev.segmentIndex) last.set(node.channel, node);
      if (!stored.has(node.channel)) stored.set(node.channel, new Map());
      const byIndex = stored.get(node.channel);
      if (byIndex) {
        byIndex.set(node.segmentIndex, { revision: node.revision, startMs: node.startMs, endMs: node.endMs });
        if (byIndex.size > RECOVERY_REPLAY_SEGMENTS) stored.set(node.channel, null);
      }
      if (node.text === null) continue;
      let list = spans.get(node.channel);
      if (!list) spans.set(node.channel, (list = []));
      list.push({ startMs: node.startMs, endMs: node.endMs, text: node.text });
      if (list.length > RECOVERY_TEXT_SPANS) {
        const dropped = list.shift()!;
        unchecked.set(node.channel, Math.max(unchecked.get(node.channel) ?? -Infinity, dropped.endMs));
      }
    }
    if (!page.hasNextPage || !page.endCursor) break;
    after = page.endCursor;
  }
  const channels = new Map<string, ChannelPosition>();
  for (const [ch, s] of last) channels.set(ch, {
    nextIndex: s.segmentIndex + 1,
    endMs: s.endMs,
    spans: spans.get(ch) ?? [],
    uncheckedBeforeMs: unchecked.get(ch) ?? -Infinity,
    stored: stored.get(ch) ?? null,
  });
  return { call, channels, lastScores: [...last.values()] };
}
