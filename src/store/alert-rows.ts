/**
 * Row <-> domain mapping of the analytics tables, shared by the SQLite and PostgreSQL alert
 * stores (same column names in migrations/sqlite/0005, 0006 and postgres/migrations/0005; both
 * drivers return these columns as JS numbers and strings).
 */
import type { Alert, AlertRuleKind, CallSummary, ChannelAnalytics } from '../core/alerts.js';

export interface AlertRow {
  id: string;
  tenant: string;
  call_id: string;
  channel: string;
  rule: string;
  segment_index: number;
  valence: number;
  value: number;
  threshold: number;
  message: string;
  event_time_ms: number;
  raised_at: string;
}

export interface ChannelRow {
  tenant: string;
  call_id: string;
  channel: string;
  segments: number;
  mean_valence: number;
  min_valence: number;
  max_valence: number;
  rolling_valence: number;
  trend: number | null;
  text_missing_share: number;
}

export interface SummaryRow {
  tenant: string;
  call_id: string;
  first_ms: number;
  last_ms: number;
  alert_count: number;
}

/** Columns of an alert INSERT, in the order of `alertValues`. */
export const ALERT_COLUMNS = ['id', 'tenant', 'call_id', 'channel', 'rule', 'segment_index', 'valence', 'value', 'threshold', 'message', 'event_time_ms', 'raised_at'] as const;

export function alertValues(a: Alert): unknown[] {
  return [a.id, a.tenant, a.callId, a.channel, a.rule, a.segmentIndex, a.valence, a.value, a.threshold, a.message, a.eventTimeMs, a.raisedAt];
}

/** Columns of a channel summary INSERT, in the order of `channelValues`. */
export const CHANNEL_COLUMNS = ['tenant', 'call_id', 'channel', 'segments', 'mean_valence', 'min_valence', 'max_valence', 'rolling_valence', 'trend', 'text_missing_share'] as const;

export function channelValues(tenant: string, callId: string, c: ChannelAnalytics): unknown[] {
  return [tenant, callId, c.channel, c.segments, c.meanValence, c.minValence, c.maxValence, c.rollingValence, c.trend, c.textMissingShare];
}

export const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  tenant: r.tenant,
  callId: r.call_id,
  channel: r.channel,
  rule: r.rule as AlertRuleKind,
  segmentIndex: r.segment_index,
  valence: r.valence,
  value: r.value,
  threshold: r.threshold,
  message: r.message,
  eventTimeMs: r.event_time_ms,
  raisedAt: r.raised_at,
});

export const toChannel = (r: ChannelRow): ChannelAnalytics => ({
  channel: r.channel,
  segments: r.segments,
  meanValence: r.mean_valence,
  minValence: r.min_valence,
  maxValence: r.max_valence,
  rollingValence: r.rolling_valence,
  trend: r.trend,
  textMissingShare: r.text_missing_share,
});

export const toSummary = (r: SummaryRow, channels: ChannelAnalytics[]): CallSummary => ({
  callId: r.call_id,
  tenant: r.tenant,
  firstMs: r.first_ms,
  lastMs: r.last_ms,
  alertCount: r.alert_count,
  channels,
});

/** Channel rows grouped by call (tenant, then call id), each list in the rows' order. */
export type ChannelsByCall = Map<string, Map<string, ChannelAnalytics[]>>;

export function channelsByCall(rows: ChannelRow[]): ChannelsByCall {
  const out: ChannelsByCall = new Map();
  for (const r of rows) {
    const calls = out.get(r.tenant) ?? new Map<string, ChannelAnalytics[]>();
    out.set(r.tenant, calls);
    const list = calls.get(r.call_id) ?? [];
    calls.set(r.call_id, list);
    list.push(toChannel(r));
  }
  return out;
}

/** Summary rows with their channels (from channelsByCall). */
export function summariesOf(rows: SummaryRow[], channels: ChannelsByCall): CallSummary[] {
  return rows.map((r) => toSummary(r, channels.get(r.tenant)?.get(r.call_id) ?? []));
}
