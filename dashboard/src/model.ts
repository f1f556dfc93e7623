/**
 * The dashboard's state, kept outside the components: calls with their latest score per
 * segment, and recent alerts. Updates arrive in bursts (200 calls stream at once), so they are
 * applied to this model at once and the UI renders at most once per animation frame.
 *
 * Merging rules, the same for live events and re-queried snapshots (so a reconnect that replays
 * what was already shown changes nothing): a segment keeps its highest revision; an alert is kept
 * once per id; a call keeps its newest status.
 */
import type { Alert, CallNode, Score } from './types.js';

/** Alerts kept in memory (newest first); older ones drop off (history view has them all). */
export const MAX_ALERTS = 200;
/** Ended calls the live view lists in its "Recently ended" strip, newest first (the rest: History). */
export const RECENTLY_ENDED = 12;
/** Calls kept in the live view; the oldest ended ones are dropped first. */
export const MAX_CALLS = 500;

export interface ChannelEnding {
  channel: string;
  /** Segments the channel has; the rolling mean covers min(segments, rollingWindow). */
  segments: number;
  rollingValence: number;
  rollingWindow: number;
}

export interface CallView {
  id: string;
  status: CallNode['status'];
  startedAt: string | null;
  endedAt: string | null;
  /** The producer's name for the call (Call.displayName), when the API has one. */
  displayName: string | null;
  /** Segments the server has stored for the call (callUpdated fires after each one). */
  segmentCount: number;
  /** For an ended call loaded without its scores: each channel's rolling valence (mean of its
   *  last segments, up to `rollingWindow`), the strip's stand-in for the last valence. */
  ending: ChannelEnding[];
  /** channel -> segmentIndex -> latest score */
  channels: Map<string, Map<number, Score>>;
  /** Bumped on every change, so a card re-renders only when its call changed. */
  version: number;
  /** Wall-clock ms of the last change, for ordering. */
  touchedAt: number;
}

export class Model {
  readonly calls = new Map<string, CallView>();
  alerts: Alert[] = [];
  private alertIds = new Set<string>();
  /** Bumped when anything changed since the last render. */
  version = 0;
  /** performance.now() of the oldest change not yet rendered (for update latency). */
  pendingSince: number | null = null;
  private listener: (() => void) | null = null;

  /** Called (once per frame at most) when something changed. */
  onChange(f: () => void): void {
    this.listener = f;
  }

  private changed(): void {
    this.version++;
    if (this.pendingSince === null) this.pendingSince = performance.now();
    this.listener?.();
  }

  private call(id: string): CallView {
    let c = this.calls.get(id);
    if (!c) {
      c = { id, status: 'ACTIVE', startedAt: null, endedAt: null, displayName: null, segmentCount: 0, ending: [], channels: new Map(), version: 0, touchedAt: Date.now() };
      this.calls.set(id, c);
      this.trim();
    }
    return c;
  }

  private trim(): void {
    if (this.calls.size <= MAX_CALLS) return;
    const ended = [...this.calls.values()].filter((c) => c.status !== 'ACTIVE').sort((a, b) => a.touchedAt - b.touchedAt);
    for (const c of ended) {
      if (this.calls.size <= MAX_CALLS) break;
      this.calls.delete(c.id);
    }
  }

  /** Applies a score; true when it changed what is shown. */
  applyScore(s: Score, notify = true): boolean {
    const c = this.call(s.callId);
    let ch = c.channels.get(s.channel);
    if (!ch) c.channels.set(s.channel, (ch = new Map()));
    const prev = ch.get(s.segmentIndex);
    if (prev && prev.revision >= s.revision) return false;
    ch.set(s.segmentIndex, s);
    c.version++;
    c.touchedAt = Date.now();
    if (notify) this.changed();
    return true;
  }

  applyCall(n: CallNode, notify = true): void {
    const c = this.call(n.id);
    const name = n.displayName ?? c.displayName;
    // A new stored segment changes no card (its score arrives on its own), only what the call
    // page re-reads: so the view re-renders, but the call's version (its card) stays.
    if (n.segmentCount > c.segmentCount) {
      c.segmentCount = n.segmentCount;
      if (notify) this.changed();
    }
    if (c.status === n.status && c.startedAt === n.startedAt && c.endedAt === n.endedAt && c.displayName === name) return;
    // A call never goes back to ACTIVE once ended (an older snapshot cannot revive it).
    if (c.status !== 'ACTIVE' && n.status === 'ACTIVE' && c.startedAt !== null) return;
    c.status = n.status;
    c.startedAt = n.startedAt;
    c.endedAt = n.endedAt;
    c.displayName = name;
    c.version++;
    c.touchedAt = Date.now();
    if (notify) this.changed();
  }

  applyAlert(a: Alert, notify = true): void {
    if (this.alertIds.has(a.id)) return;
    this.alertIds.add(a.id);
    this.alerts = [a, ...this.alerts].sort((x, y) => y.eventTimeMs - x.eventTimeMs).slice(0, MAX_ALERTS);
    this.alertIds = new Set(this.alerts.map((x) => x.id));
    const c = this.calls.get(a.callId);
    if (c) c.version++;
    if (notify) this.changed();
  }

  /** Merges a snapshot (first load or after a reconnect) in one change. */
  applySnapshot(calls: { node: CallNode; scores: Score[] }[], alerts: Alert[]): void {
    for (const { node, scores } of calls) {
      this.applyCall(node, false);
      for (const s of scores) this.applyScore(s, false);
    }
    for (const a of alerts) this.applyAlert(a, false);
    this.changed();
  }

  /** Ended calls from the API (no scores loaded): how each channel ended, in one change. */
  applyEndings(calls: { node: CallNode; ending: ChannelEnding[] }[]): void {
    for (const { node, ending } of calls) {
      this.applyCall(node, false);
      const c = this.call(node.id);
      c.ending = ending;
      c.version++;
    }
    this.changed();
  }

  alertsOf(callId: string): Alert[] {
    return this.alerts.filter((a) => a.callId === callId);
  }
}

/** What a call is called on screen: the producer's display name, else its id. */
export const callName = (c: { id: string; displayName?: string | null }): string => c.displayName || c.id;

/** The newest score of a channel (highest segmentIndex), or undefined. */
export function latest(ch: Map<number, Score> | undefined): Score | undefined {
  if (!ch) return undefined;
  let best: Score | undefined;
  for (const s of ch.values()) if (!best || s.segmentIndex > best.segmentIndex) best = s;
  return best;
}

/** A channel's scores in segment order. */
export function ordered(ch: Map<number, Score> | undefined): Score[] {
  return ch ? [...ch.values()].sort((a, b) => a.segmentIndex - b.segmentIndex) : [];
}
