/**
 * AlertEngine: evaluates the tenant's alert rules live, one stored score at a time.
 *
 * - Idempotent: a repeat of a (call, channel, segment, revision) already seen, or an older
 *   revision than the one held, changes nothing and raises nothing.
 * - Revisions: a newer revision replaces the segment's valence and the channel is re-evaluated
 *   from scratch; an episode (consecutive segments where a rule holds, evaluate.ts) raises at most
 *   one alert. An episode counts as already alerted when an alert of the same channel and rule
 *   was raised within `span` segments of it (from start - span to end + span), so a revision
 *   that moves an episode by a few segments does not raise it twice, and two alerts of one rule
 *   on one channel are always more than `span` segments apart.
 *   Alerts are never withdrawn: they record what a supervisor was told.
 * - Bounded: at most `maxCalls` calls are held (overflow policy: evict the least recently
 *   scored call; its later scores start a fresh history) and `maxSegmentsPerChannel` segments
 *   per channel (overflow policy: drop the oldest segment; revisions of dropped segments are
 *   ignored). `endCall` frees a call at once.
 * - Keyed by (tenant, callId): a call id is unique only within its tenant, so two tenants' calls
 *   with one id have separate histories, rules and alerts.
 */
import type { SegmentScore } from '../core/types.js';
import { type Alert, alertId, alertMessage, callKey } from './alert.js';
import { conditionSeries, episodes, RULE_KINDS } from './evaluate.js';
import { type AlertRules, ruleSpan } from './rules.js';

export interface AlertEngineOptions {
  /** The rules of a tenant (synchronous: the caller caches them). */
  rulesFor: (tenant: string) => AlertRules;
  /** Calls held at once (default 10_000). */
  maxCalls?: number;
  /** Segments held per channel of a call (default 2_000, about 5 hours of 10 s segments). */
  maxSegmentsPerChannel?: number;
  /** Wall clock for `raisedAt` (default Date.now). */
  now?: () => number;
}

interface Point {
  revision: number;
  valence: number;
  startMs: number;
  endMs: number;
  textMissing: boolean;
}

/** What the engine reads from a score. */
export type EngineScore = Pick<SegmentScore, 'channel' | 'segmentIndex' | 'revision' | 'valence' | 'startMs' | 'endMs' | 'textMissing'>;

/** One held segment, latest revision (see `snapshot`). */
export type HeldPoint = EngineScore;

interface ChannelState {
  /** segmentIndex -> latest point; kept sorted by index in `order`. */
  points: Map<number, Point>;
  order: number[];
  /** rule -> segment indices alerts were raised at. */
  raised: Map<string, number[]>;
}

interface CallState {
  tenant: string;
  callId: string;
  channels: Map<string, ChannelState>;
}

export class AlertEngine {
  private readonly calls = new Map<string, CallState>();
  private readonly maxCalls: number;
  private readonly maxSegments: number;
  private readonly now: () => number;
  private readonly rulesFor: (tenant: string) => AlertRules;
  /** Calls evicted by the maxCalls bound since start (for metrics). */
  evictions = 0;

  constructor(o: AlertEngineOptions) {
    this.rulesFor = o.rulesFor;
    this.maxCalls = o.maxCalls ?? 10_000;
    this.maxSegments = o.maxSegmentsPerChannel ?? 2_000;
    this.now = o.now ?? Date.now;
  }

  /** Calls currently held (each (tenant, callId) counts once). */
  get size(): number {
    return this.calls.size;
  }

  /** True when the engine holds state for the tenant's call. */
  has(callId: string, tenant: string): boolean {
    return this.calls.has(callKey(tenant, callId));
  }

  /**
   * Forgets a call (it ended); a later score of it starts a fresh history. Without `tenant`, every
   * tenant's call of that id is forgotten (a scan over the held calls: pass the tenant).
   */
  endCall(callId: string, tenant?: string): void {
    if (tenant !== undefined) {
      this.calls.delete(callKey(tenant, callId));
      return;
    }
    for (const [key, call] of this.calls) if (call.callId === callId) this.calls.delete(key);
  }

  /**
   * Restores a call's history without raising anything: its stored scores and the alerts already
   * raised (after a restart, so nothing is raised twice).
   */
  seed(callId: string, tenant: string, scores: Iterable<EngineScore>, alerts: Iterable<Pick<Alert, 'channel' | 'rule' | 'segmentIndex'>>): void {
    const call = this.touch(callId, tenant);
    for (const s of scores) this.upsert(call, s);
    for (const a of alerts) this.markRaised(this.channel(call, a.channel), a.rule, a.segmentIndex);
  }

  /** The held segments of a tenant's call (latest revision each), by channel then index; [] when unknown. */
  snapshot(callId: string, tenant: string): HeldPoint[] {
    const call = this.calls.get(callKey(tenant, callId));
    if (!call) return [];
    const out: HeldPoint[] = [];
    for (const [channel, ch] of call.channels) {
      for (const idx of ch.order) {
        const p = ch.points.get(idx) as Point;
        out.push({ channel, segmentIndex: idx, revision: p.revision, valence: p.valence, startMs: p.startMs, endMs: p.endMs, textMissing: p.textMissing });
      }
    }
    return out;
  }

  /** Feeds one stored score; returns the alerts it raises (usually none). */
  onScore(score: SegmentScore): Alert[] {
    const rules = this.rulesFor(score.tenant);
    const call = this.touch(score.callId, score.tenant);
    if (!this.upsert(call, score)) return [];
    if (!rules.channels.includes(score.channel)) return [];
    return this.evaluate(call, score.channel, rules);
  }

  private touch(callId: string, tenant: string): CallState {
    const key = callKey(tenant, callId);
    let call = this.calls.get(key);
    if (call) {
      this.calls.delete(key); // re-insert: Map order is the LRU order
    } else {
      call = { tenant, callId, channels: new Map() };
      while (this.calls.size >= this.maxCalls) {
        const oldest = this.calls.keys().next().value as string;
        this.calls.delete(oldest);
        this.evictions++;
      }
    }
    this.calls.set(key, call);
    return call;
  }

  private channel(call: CallState, name: string): ChannelState {
    let ch = call.channels.get(name);
    if (!ch) {
      ch = { points: new Map(), order: [], raised: new Map() };
      call.channels.set(name, ch);
    }
    return ch;
  }

  /** Stores the point if it is new or a newer revision; false when nothing changed. */
  private upsert(call: CallState, s: EngineScore): boolean {
    const ch = this.channel(call, s.channel);
    const prev = ch.points.get(s.segmentIndex);
    if (prev) {
      if (s.revision <= prev.revision) return false;
      ch.points.set(s.segmentIndex, toPoint(s));
      return true;
    }
    if (ch.order.length >= this.maxSegments && s.segmentIndex < ch.order[0]) return false;
    ch.points.set(s.segmentIndex, toPoint(s));
    // Segments mostly arrive in order: insert from the end.
    let i = ch.order.length;
    while (i > 0 && ch.order[i - 1] > s.segmentIndex) i--;
    ch.order.splice(i, 0, s.segmentIndex);
    while (ch.order.length > this.maxSegments) ch.points.delete(ch.order.shift() as number);
    // Alerts far behind the held window can no longer be matched by an episode: forget them.
    const keepFrom = ch.order[0] - 50;
    for (const [rule, list] of ch.raised) ch.raised.set(rule, list.filter((idx) => idx >= keepFrom));
    return true;
  }

  private markRaised(ch: ChannelState, rule: string, segmentIndex: number): void {
    const list = ch.raised.get(rule);
    if (!list) ch.raised.set(rule, [segmentIndex]);
    else if (!list.includes(segmentIndex)) list.push(segmentIndex);
  }

  private evaluate(call: CallState, channel: string, rules: AlertRules): Alert[] {
    const { callId, tenant } = call;
    const ch = this.channel(call, channel);
    const values = ch.order.map((idx) => (ch.points.get(idx) as Point).valence);
    const out: Alert[] = [];
    for (const rule of RULE_KINDS) {
      const span = ruleSpan(rules, rule);
      // The held list itself (created if absent), so an alert raised for one episode below is
      // seen by the next: one revision can open two episodes within `span` of each other.
      let raised = ch.raised.get(rule);
      if (!raised) ch.raised.set(rule, (raised = []));
      for (const ep of episodes(conditionSeries(values, rules, rule))) {
        const from = ch.order[ep.start] - span;
        const to = ch.order[ep.end] + span;
        if (raised.some((idx) => idx >= from && idx <= to)) continue;
        const segmentIndex = ch.order[ep.start];
        const point = ch.points.get(segmentIndex) as Point;
        this.markRaised(ch, rule, segmentIndex);
        out.push({
          id: alertId(tenant, callId, channel, rule, segmentIndex),
          tenant,
          callId,
          channel,
          rule,
          segmentIndex,
          valence: point.valence,
          value: ep.value,
          threshold: ep.threshold,
          message: alertMessage(rule, channel, ep.value, ep.threshold, span),
          eventTimeMs: point.endMs,
          raisedAt: new Date(this.now()).toISOString(),
        });
      }
    }
    return out;
  }
}

function toPoint(s: EngineScore): Point {
  return { revision: s.revision, valence: s.valence, startMs: s.startMs, endMs: s.endMs, textMissing: s.textMissing };
}
