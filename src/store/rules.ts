/**
 * The check every stored rules object passes (AlertStore.setRules, and again on read): a bad
 * value is a BAD_REQUEST naming the field. Here, not in analytics/, because the store refuses
 * bad rules before they reach a table, as it refuses bad scores (validate.ts).
 */
import type { AlertRules } from '../core/alerts.js';
import { AppError } from '../core/errors.js';

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
