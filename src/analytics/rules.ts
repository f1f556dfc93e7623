/**
 * Alert rules: what makes a call worth a supervisor's look. One rules object per tenant, stored;
 * a tenant that never set one gets DEFAULT_RULES. Validated when set (a bad value is a
 * BAD_REQUEST naming the field), never on first use.
 */
import { AppError } from '../core/errors.js';
import type { AlertRuleKind } from '../core/types.js';

/** The three rule kinds, as the API names them (declared in core: the scores topic carries them). */
export type { AlertRuleKind };

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

/**
 * Defaults: the NEGATIVE class boundary of the model manifest is -0.5 (neutralBand [-0.5, 0.5]),
 * so "sustained negative" means three NEGATIVE segments in a row; the rolling threshold is
 * stricter (-1.0 over 5 segments) because a mean is already smoothed; a drop of 2.0 within 3
 * segments is a third of the whole scale.
 */
export const DEFAULT_RULES: AlertRules = Object.freeze({
  rollingBelow: Object.freeze({ enabled: true, threshold: -1.0, window: 5 }),
  sustainedNegative: Object.freeze({ enabled: true, threshold: -0.5, segments: 3 }),
  sharpDrop: Object.freeze({ enabled: true, drop: 2.0, withinSegments: 3 }),
  channels: Object.freeze(['customer']) as unknown as string[],
}) as AlertRules;

/** How many segments back a rule looks; alerts within this span are one episode (engine.ts). */
export function ruleSpan(rules: AlertRules, kind: AlertRuleKind): number {
  switch (kind) {
    case 'ROLLING_BELOW':
      return rules.rollingBelow.window;
    case 'SUSTAINED_NEGATIVE':
      return rules.sustainedNegative.segments;
    case 'SHARP_DROP':
      return rules.sharpDrop.withinSegments;
  }
}

/** A partial rules object as the API accepts it: missing parts keep their current values. */
export interface AlertRulesPatch {
  rollingBelow?: Partial<AlertRules['rollingBelow']>;
  sustainedNegative?: Partial<AlertRules['sustainedNegative']>;
  sharpDrop?: Partial<AlertRules['sharpDrop']>;
  channels?: string[];
}

function bad(field: string, why: string): AppError {
  return new AppError('BAD_REQUEST', { reason: `alert rules: ${field} ${why}` });
}

function num(v: unknown, field: string, min: number, max: number, exclusiveMin = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v > max || (exclusiveMin ? v <= min : v < min)) {
    throw bad(field, `must be a number in ${exclusiveMin ? '(' : '['}${min}, ${max}]`);
  }
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw bad(field, `must be an integer in [${min}, ${max}]`);
  return v as number;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw bad(field, 'must be true or false');
  return v;
}

/** Checks a full rules object; returns a fresh, validated copy. Throws AppError BAD_REQUEST. */
export function validateRules(r: unknown): AlertRules {
  if (typeof r !== 'object' || r === null) throw bad('rules', 'must be an object');
  const o = r as Record<string, Record<string, unknown> | unknown>;
  const rb = (o.rollingBelow ?? {}) as Record<string, unknown>;
  const sn = (o.sustainedNegative ?? {}) as Record<string, unknown>;
  const sd = (o.sharpDrop ?? {}) as Record<string, unknown>;
  const channels = o.channels;
  if (!Array.isArray(channels) || channels.length === 0 || channels.length > 16 || !channels.every((c) => typeof c === 'string' && c.length > 0 && c.length <= 64)) {
    throw bad('channels', 'must be 1..16 non-empty channel names');
  }
  return {
    rollingBelow: { enabled: bool(rb.enabled, 'rollingBelow.enabled'), threshold: num(rb.threshold, 'rollingBelow.threshold', -3, 3), window: int(rb.window, 'rollingBelow.window', 1, 50) },
    sustainedNegative: {
      enabled: bool(sn.enabled, 'sustainedNegative.enabled'),
      threshold: num(sn.threshold, 'sustainedNegative.threshold', -3, 3),
      segments: int(sn.segments, 'sustainedNegative.segments', 1, 50),
    },
    sharpDrop: { enabled: bool(sd.enabled, 'sharpDrop.enabled'), drop: num(sd.drop, 'sharpDrop.drop', 0, 6, true), withinSegments: int(sd.withinSegments, 'sharpDrop.withinSegments', 1, 50) },
    channels: [...new Set(channels as string[])],
  };
}

/** Applies a patch over a base rules object and validates the result. */
export function mergeRules(base: AlertRules, patch: AlertRulesPatch): AlertRules {
  return validateRules({
    rollingBelow: { ...base.rollingBelow, ...stripUndefined(patch.rollingBelow) },
    sustainedNegative: { ...base.sustainedNegative, ...stripUndefined(patch.sustainedNegative) },
    sharpDrop: { ...base.sharpDrop, ...stripUndefined(patch.sharpDrop) },
    channels: patch.channels ?? base.channels,
  });
}

function stripUndefined<T extends object>(o: T | undefined | null): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}
