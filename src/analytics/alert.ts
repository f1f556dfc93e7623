/** An alert raised on a call, as stored, published and queried (GraphQL `Alert`). */
import type { AlertRuleKind } from './rules.js';

export interface Alert {
  /** Deterministic: `${callId}:${channel}:${rule}:${segmentIndex}`, so storing is idempotent. */
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

/** The alert's stable id. */
export function alertId(callId: string, channel: string, rule: AlertRuleKind, segmentIndex: number): string {
  return `${callId}:${channel}:${rule}:${segmentIndex}`;
}

/** A one-line, human message (the dashboard shows it; screen readers read it). */
export function alertMessage(rule: AlertRuleKind, channel: string, value: number, threshold: number, span: number): string {
  const f = (x: number) => x.toFixed(2);
  switch (rule) {
    case 'ROLLING_BELOW':
      return `${channel}: mean valence of the last ${span} segments is ${f(value)}, below ${f(threshold)}`;
    case 'SUSTAINED_NEGATIVE':
      return `${channel}: ${span} segments in a row below ${f(threshold)} (highest ${f(value)})`;
    case 'SHARP_DROP':
      return `${channel}: valence dropped by ${f(value)} within ${span} segments (limit ${f(threshold)})`;
  }
}
