/** Alert ids, call keys and messages. The stored Alert itself is declared in core/alerts.ts. */
import type { AlertRuleKind } from '../core/alerts.js';

export type { Alert } from '../core/alerts.js';

/**
 * Escapes an id part so `:` only ever separates parts: `%` -> `%25`, `:` -> `%3A` (nothing else
 * changes). SQLite migration 0006 (store/migrations/sqlite/0005-analytics.ts, m0006) rewrites stored ids with the same two
 * replacements in SQL, so keep them in step.
 */
export function idPart(s: string): string {
  return s.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/**
 * The alert's stable id: `tenant:callId:channel:rule:segmentIndex`, each text part escaped by
 * `idPart`. The tenant is part of it because call ids are only unique within a tenant: two
 * tenants' alerts on one call id must never be taken for repeats of each other.
 */
export function alertId(tenant: string, callId: string, channel: string, rule: AlertRuleKind, segmentIndex: number): string {
  return `${idPart(tenant)}:${idPart(callId)}:${idPart(channel)}:${rule}:${segmentIndex}`;
}

export { callKey } from '../core/types.js';

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
