/**
 * The one in-process fan-out: `Hub<E, F>` hands events of kind E to the subscribers whose
 * filter F matches, each through its own bounded queue (HubSubscription), so one slow consumer
 * never delays the publisher or the others. Scores and call updates (ScoreHub, below) and
 * alerts (src/analytics/hub.ts) are three instances of it, differing only in their Route.
 *
 * Publishing is synchronous and O(matching subscribers): subscribers are indexed by tenant and
 * call id (either may be "every"), and a Route's `accepts` decides the rest (a channel).
 *
 * Several instances (issue 4): a Kafka bridge implements ScorePublisher by producing each score
 * to the scores topic, and its consumer calls `hub.deliverScore` / `hub.deliverCall` for every
 * record, so each instance's hub serves its own subscribers. A route with a `repeatKey` drops
 * repeats within a bounded window (scores: (tenant, call, channel, segment, revision)), so the
 * at-least-once topic (or a local publish plus its echo from the topic) reaches a subscriber once.
 */
import type { CallFilter, ScoreFeed, ScoreFilter, ScorePublisher } from '../core/ports.js';
import type { CallInfo, SegmentScore } from '../core/types.js';
import { RecentKeys } from './recent-keys.js';
import { SubscriberIndex } from './subscriber-index.js';
import { HubSubscription, type SubscriptionOptions } from './subscription.js';

/** How a hub files events and filters: the only part that differs between event kinds. */
export interface Route<E, F> {
  /** The call an event belongs to. */
  callOf(event: E): { tenant: string; callId: string };
  /** The tenant and call a filter listens to; undefined: every one. */
  scopeOf(filter: F): { tenant?: string; callId?: string };
  /** What the index cannot decide (e.g. a channel). Default: every event in the filter's scope. */
  accepts?(filter: F, event: E): boolean;
  /** An event's identity for dropping repeats. Without it, nothing is dropped as a repeat. */
  repeatKey?(event: E): string;
}

export interface HubOptions {
  /** Default queue bound and policy for subscribers that do not pass their own. */
  subscriber?: SubscriptionOptions;
  /** Repeat keys remembered (routes with `repeatKey`). Default 10_000 (about 2 MB of scores). */
  dedupeWindow?: number;
}

/** Counters of one hub since it was created. */
export interface FanOutStats {
  subscribers: number;
  published: number;
  /** Repeats of a recently published key that were not fanned out. */
  duplicatesDropped: number;
  /** Events delivered into subscriber queues (or straight to a waiting consumer). */
  delivered: number;
  /** Events discarded by drop-oldest queues. */
  droppedOldest: number;
  /** Subscribers ended with SUBSCRIBER_TOO_SLOW. */
  closedTooSlow: number;
}

interface Entry<E, F> {
  filter: F;
  sub: HubSubscription<E>;
}

export class Hub<E, F> {
  private readonly index = new SubscriberIndex<Entry<E, F>>();
  private readonly recent: RecentKeys | null;
  private readonly defaults: SubscriptionOptions;
  private stopped = false;
  private readonly counters: FanOutStats = { subscribers: 0, published: 0, duplicatesDropped: 0, delivered: 0, droppedOldest: 0, closedTooSlow: 0 };

  constructor(private readonly route: Route<E, F>, opts: HubOptions = {}) {
    this.defaults = opts.subscriber ?? {};
    this.recent = route.repeatKey ? new RecentKeys(opts.dedupeWindow ?? 10_000) : null;
  }

  /** Accepts publishes and subscribers again after `close()`. */
  start(): void {
    this.stopped = false;
  }

  /** Ends every subscription (consumers read what is queued, then complete); later publishes are ignored. */
  close(): void {
    this.stopped = true;
    for (const e of this.index.all()) e.sub.end();
  }

  /**
   * Synchronous fan-out of one event; returns how many subscribers received it.
   *
   * Subscribers over graphql-ws are already grouped before they reach the hub (issue 14,
   * src/graphql/multiplex.ts): identical operations hold one hub subscription, so this loop runs
   * once per group, and each group's serialised frame goes to its members' own bounded queues.
   */
  publish(event: E): number {
    if (this.stopped) return 0;
    if (this.recent && !this.recent.add(this.route.repeatKey!(event))) {
      this.counters.duplicatesDropped++;
      return 0;
    }
    this.counters.published++;
    const { tenant, callId } = this.route.callOf(event);
    const accepts = this.route.accepts;
    let n = 0;
    this.index.forEachMatch(tenant, callId, (e) => {
      if (accepts && !accepts(e.filter, event)) return;
      e.sub.push(event);
      n++;
    });
    this.counters.delivered += n;
    return n;
  }

  /** A stream of the matching events from now on; the consumer ends it with `return()`. */
  subscribe(filter: F, opts?: SubscriptionOptions): HubSubscription<E> {
    const { tenant, callId } = this.route.scopeOf(filter);
    let remove = () => {};
    const sub = new HubSubscription<E>(
      { ...this.defaults, ...opts },
      () => {
        remove();
        this.counters.subscribers--;
      },
      (what) => (what === 'dropped' ? this.counters.droppedOldest++ : this.counters.closedTooSlow++),
    );
    remove = this.index.add(tenant, callId, { filter, sub });
    this.counters.subscribers++;
    if (this.stopped) sub.end();
    return sub;
  }

  stats(): FanOutStats {
    return { ...this.counters };
  }
}

/** Which scores a subscriber wants. `tenant` is required: a subscriber sees one tenant only. */
export type { CallFilter, ScoreFilter } from '../core/ports.js';

/** Scores, calls and filters all carry their (tenant, callId) under those names. */
const itself = <T>(x: T): T => x;
const scoreRoute: Route<SegmentScore, ScoreFilter> = {
  callOf: itself,
  scopeOf: itself,
  accepts: (f, s) => f.channel === undefined || f.channel === s.channel,
  repeatKey: (s) => `${s.tenant}\u0000${s.callId}\u0000${s.channel}\u0000${s.segmentIndex}\u0000${s.revision}`,
};
const callRoute: Route<CallInfo, CallFilter> = { callOf: itself, scopeOf: itself };

/** What the API needs from a fan-out: subscribe with filters; the caller ends it with `return()`. */
export type { ScoreFeed } from '../core/ports.js';

/** Counters since the hub was created (exposed to metrics): scores and calls together. */
export interface HubStats {
  subscribers: number;
  scoresPublished: number;
  callsPublished: number;
  /** Repeats of an already published score key that were not fanned out. */
  duplicatesDropped: number;
  delivered: number;
  droppedOldest: number;
  closedTooSlow: number;
}

/** The publish stage: two hubs, scores (repeats dropped) and call updates, behind one lifecycle. */
export class ScoreHub implements ScorePublisher, ScoreFeed {
  private readonly scores: Hub<SegmentScore, ScoreFilter>;
  private readonly calls: Hub<CallInfo, CallFilter>;

  constructor(opts: HubOptions = {}) {
    this.scores = new Hub(scoreRoute, opts);
    this.calls = new Hub(callRoute, opts);
  }

  async start(): Promise<void> {
    this.scores.start();
    this.calls.start();
  }

  /** Ends every subscription (consumers read what is queued, then complete); later publishes are ignored. */
  async stop(): Promise<void> {
    this.scores.close();
    this.calls.close();
  }

  async publishScore(score: SegmentScore): Promise<void> {
    this.scores.publish(score);
  }

  async publishCall(call: CallInfo): Promise<void> {
    this.calls.publish(call);
  }

  /** Synchronous fan-out of one score; returns how many subscribers received it. */
  deliverScore(score: SegmentScore): number {
    return this.scores.publish(score);
  }

  /** Synchronous fan-out of one call update; returns how many subscribers received it. */
  deliverCall(call: CallInfo): number {
    return this.calls.publish(call);
  }

  subscribeScores(filter: ScoreFilter, opts?: SubscriptionOptions): HubSubscription<SegmentScore> {
    return this.scores.subscribe(filter, opts);
  }

  subscribeCalls(filter: CallFilter, opts?: SubscriptionOptions): HubSubscription<CallInfo> {
    return this.calls.subscribe(filter, opts);
  }

  stats(): HubStats {
    const s = this.scores.stats();
    const c = this.calls.stats();
    return {
      subscribers: s.subscribers + c.subscribers,
      scoresPublished: s.published,
      callsPublished: c.published,
      duplicatesDropped: s.duplicatesDropped,
      delivered: s.delivered + c.delivered,
      droppedOldest: s.droppedOldest + c.droppedOldest,
      closedTooSlow: s.closedTooSlow + c.closedTooSlow,
    };
  }
}
