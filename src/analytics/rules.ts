/**
 * Alert rules: what makes a call worth a supervisor's look. One rules object per tenant, stored;
 * a tenant that never set one gets DEFAULT_RULES. Validated when set (a bad value is a
 * BAD_REQUEST naming the field), never on first use.
 */
import type { AlertRuleKind, AlertRules } from '../core/alerts.js';
import { validateRules } from '../store/rules.js';

export type { AlertRuleKind, AlertRules } from '../core/alerts.js';
export { validateRules } from '../store/rules.js';

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
