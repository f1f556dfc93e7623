/**
 * In-process fan-out of scores and call updates to subscribers.
 *
 * Publishing is synchronous and O(matching subscribers): subscribers are indexed by tenant and
 * then by call id (or "every call"), and each has its own bounded queue, so one slow consumer
 * never delays the publisher or the others.
 *
 * Several instances (issue 4): a Kafka bridge implements ScorePublisher by producing each score
 * to the scores topic, and its consumer calls `hub.publishScore` / `hub.publishCall` for every
 * record, so each instance's hub serves its own subscribers. The hub drops repeats of a
 * (tenant, call, channel, segment, revision) within a bounded window, so the at-least-once
 * topic (or a local publish plus its echo from the topic) reaches each subscriber once.
 */
import type { ScorePublisher } from '../core/ports.js';
import type { CallInfo, SegmentScore } from '../core/types.js';
import { RecentKeys } from './recent-keys.js';
import { HubSubscription, type SubscriptionOptions } from './subscription.js';

/** Which scores a subscriber wants. `tenant` is required: a subscriber sees one tenant only. */
export interface ScoreFilter {
  tenant: string;
  /** Only this call (default: every call of the tenant). */
  callId?: string;
  /** Only this channel (default: every channel). */
  channel?: string;
}

export interface CallFilter {
  tenant: string;
  callId?: string;
}

/** What the API needs from a fan-out: subscribe with filters; the caller ends it with `return()`. */
export interface ScoreFeed {
  subscribeScores(filter: ScoreFilter, opts?: SubscriptionOptions): HubSubscription<SegmentScore>;
  subscribeCalls(filter: CallFilter, opts?: SubscriptionOptions): HubSubscription<CallInfo>;
}

export interface HubOptions {
  /** Default queue bound and policy for subscribers that do not pass their own. */
  subscriber?: SubscriptionOptions;
  /** Score keys remembered to drop repeats. Default 10_000 (about 2 MB). */
  dedupeWindow?: number;
}

/** Counters since the hub was created (exposed to metrics). */
export interface HubStats {
  subscribers: number;
  scoresPublished: number;
  callsPublished: number;
  /** Repeats of an already published score key that were not fanned out. */
  duplicatesDropped: number;
  /** Events delivered into subscriber queues (or straight to a waiting consumer). */
  delivered: number;
  /** Events discarded by drop-oldest queues. */
  droppedOldest: number;
  /** Subscribers ended with SUBSCRIBER_TOO_SLOW. */
  closedTooSlow: number;
}

interface Entry<T> {
  sub: HubSubscription<T>;
  channel?: string;
}

/** tenant -> (callId | ANY) -> subscribers */
type Index<T> = Map<string, Map<string | typeof ANY, Set<Entry<T>>>>;
const ANY = Symbol('any call');

export class ScoreHub implements ScorePublisher, ScoreFeed {
  private readonly scoreSubs: Index<SegmentScore> = new Map();
  private readonly callSubs: Index<CallInfo> = new Map();
  private readonly recent: RecentKeys;
  private readonly defaults: SubscriptionOptions;
  private stopped = false;
  private readonly counters: Omit<HubStats, 'subscribers'> = {
    scoresPublished: 0, callsPublished: 0, duplicatesDropped: 0, delivered: 0, droppedOldest: 0, closedTooSlow: 0,
  };
  private subscriberCount = 0;

  constructor(opts: HubOptions = {}) {
    this.defaults = opts.subscriber ?? {};
    this.recent = new RecentKeys(opts.dedupeWindow ?? 10_000);
  }

  async start(): Promise<void> {
    this.stopped = false;
  }

  /** Ends every subscription (consumers read what is queued, then complete); later publishes are ignored. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const index of [this.scoreSubs, this.callSubs] as Index<unknown>[]) {
      for (const byCall of index.values()) for (const set of byCall.values()) for (const e of set) e.sub.end();
    }
  }

  async publishScore(score: SegmentScore): Promise<void> {
    this.deliverScore(score);
  }

  async publishCall(call: CallInfo): Promise<void> {
    this.deliverCall(call);
  }

  /** Synchronous fan-out of one score; returns how many subscribers received it. */
  deliverScore(score: SegmentScore): number {
    if (this.stopped) return 0;
    const key = `${score.tenant}\u0000${score.callId}\u0000${score.channel}\u0000${score.segmentIndex}\u0000${score.revision}`;
    if (!this.recent.add(key)) {
      this.counters.duplicatesDropped++;
      return 0;
    }
    this.counters.scoresPublished++;
    return this.fanOut(this.scoreSubs, score.tenant, score.callId, score, (e) => e.channel === undefined || e.channel === score.channel);
  }

  /** Synchronous fan-out of one call update; returns how many subscribers received it. */
  deliverCall(call: CallInfo): number {
    if (this.stopped) return 0;
    this.counters.callsPublished++;
    return this.fanOut(this.callSubs, call.tenant, call.callId, call, () => true);
  }

  subscribeScores(filter: ScoreFilter, opts?: SubscriptionOptions): HubSubscription<SegmentScore> {
    return this.add(this.scoreSubs, filter.tenant, filter.callId, filter.channel, opts);
  }

  subscribeCalls(filter: CallFilter, opts?: SubscriptionOptions): HubSubscription<CallInfo> {
    return this.add(this.callSubs, filter.tenant, filter.callId, undefined, opts);
  }

  stats(): HubStats {
    return { subscribers: this.subscriberCount, ...this.counters };
  }

  private add<T>(index: Index<T>, tenant: string, callId: string | undefined, channel: string | undefined, opts?: SubscriptionOptions): HubSubscription<T> {
    const slot = callId ?? ANY;
    let byCall = index.get(tenant);
    if (!byCall) index.set(tenant, (byCall = new Map()));
    let set = byCall.get(slot);
    if (!set) byCall.set(slot, (set = new Set()));
    const entry: Entry<T> = { channel, sub: null as unknown as HubSubscription<T> };
    entry.sub = new HubSubscription<T>(
      { ...this.defaults, ...opts },
      () => {
        // Free the index slots as soon as they empty, so churn does not grow the maps.
        set.delete(entry);
        if (set.size === 0 && byCall.get(slot) === set) byCall.delete(slot);
        if (byCall.size === 0 && index.get(tenant) === byCall) index.delete(tenant);
        this.subscriberCount--;
      },
      (what) => (what === 'dropped' ? this.counters.droppedOldest++ : this.counters.closedTooSlow++),
    );
    set.add(entry);
    this.subscriberCount++;
    if (this.stopped) entry.sub.end();
    return entry.sub;
  }

  private fanOut<T>(index: Index<T>, tenant: string, callId: string, event: T, accept: (e: Entry<T>) => boolean): number {
    const byCall = index.get(tenant);
    if (!byCall) return 0;
    let n = 0;
    for (const set of [byCall.get(callId), byCall.get(ANY)]) {
      if (!set) continue;
      for (const e of set) {
        if (!accept(e)) continue;
        e.sub.push(event);
        n++;
      }
    }
    this.counters.delivered += n;
    return n;
  }
}
