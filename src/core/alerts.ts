/**
 * The analytics entities that are stored: alerts, per-tenant alert rules and per-call summaries.
 * Declared in core because two stages share them: store/ keeps them (the AlertStore port,
 * core/ports.ts) and analytics/ computes them. Behaviour (ids, messages, rule evaluation,
 * statistics) stays in analytics/.
 */

/** The three rule kinds, as the API names them. */
export type AlertRuleKind = 'ROLLING_BELOW' | 'SUSTAINED_NEGATIVE' | 'SHARP_DROP';

/** An alert raised on a call, as stored, published and queried (GraphQL `Alert`). */
export interface Alert {
  /** Deterministic: `tenant:callId:channel:rule:segmentIndex` (see analytics/alert.ts `alertId`), so storing is idempotent. */
  id: string;
  tenant: string;
  callId: string;
  channel: string;
  rule: AlertRuleKind;
  /** The segment at which the rule first held in this episode. */
  segmentIndex: number;
  /** Valence of that segment (-3..3). */
  valence: number;
  /** What the rule measured: rolling mean, highest valence of the run, or drop size. */
  value: number;
  /** The threshold (or drop) of the rule when it fired. */
  threshold: number;
  message: string;
  /** Event time (end of the segment), ms since the unix epoch. */
  eventTimeMs: number;
  /** Wall-clock ISO time the alert was raised. */
  raisedAt: string;
}

/** One tenant's alert rules (validated by store/rules.ts `validateRules`; defaults in analytics/rules.ts). */
export interface AlertRules {
  /** Fires when the mean of the last `window` segments of a channel falls below `threshold`. */
  rollingBelow: { enabled: boolean; /** valence, -3..3 */ threshold: number; /** segments, 1..50 */ window: number };
  /** Fires when `segments` consecutive segments of a channel all have valence below `threshold`. */
  sustainedNegative: { enabled: boolean; /** valence, -3..3 */ threshold: number; /** segments, 1..50 */ segments: number };
  /** Fires when a segment's valence is at least `drop` below any of the `withinSegments` before it. */
  sharpDrop: { enabled: boolean; /** valence units, 0..6 (exclusive of 0) */ drop: number; /** segments, 1..50 */ withinSegments: number };
  /** Channels the rules watch (default ['customer']: the agent's mood is not the alert). */
  channels: string[];
}

/** Summary analytics of one channel of a call (computed by analytics/stats.ts). */
export interface ChannelAnalytics {
  channel: string;
  /** Segments counted (latest revisions only). */
  segments: number;
  meanValence: number;
  minValence: number;
  maxValence: number;
  /** Mean of the last ROLLING_WINDOW (analytics/stats.ts) segments. */
  rollingValence: number;
  /** Closing third mean minus opening third mean; null with fewer than 3 segments. */
  trend: number | null;
  /** 0..1 share of segments scored without a transcript. */
  textMissingShare: number;
}

/** The stored summary of one call: event-time span, per-channel analytics, alert count. */
export interface CallSummary {
  callId: string;
  tenant: string;
  /** Start of the first scored segment, ms since the unix epoch. */
  firstMs: number;
  /** End of the last scored segment. */
  lastMs: number;
  channels: ChannelAnalytics[];
  alertCount: number;
}
