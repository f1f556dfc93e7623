/**
 * The scores topic's record format (one record per stored score, call update or new alert).
 *
 *   key      call id (UTF-8): one call's updates (and its alerts) stay in order on one partition
 *   headers  sst-kind: "score" | "call" | "alert";  sst-origin: instance id of the producer
 *   value    JSON: { v: 1, score: SegmentScore }, { v: 1, call: CallInfo } or { v: 1, alert: Alert }
 *
 * The kind "alert" was added after "score" and "call" without changing their format: an older
 * instance reads an alert record as not understood (counted, skipped), never as a wrong score.
 *
 * Consumers check the shape before fanning a record out; a record that does not match is
 * counted and skipped (it can only come from another program writing to the topic).
 */
import type { Alert, AlertRuleKind, CallInfo, SegmentScore } from '../core/types.js';

export const SCORES_FORMAT_VERSION = 1;
export const KIND_HEADER = 'sst-kind';
export const ORIGIN_HEADER = 'sst-origin';

/** One record's content: a stored score, a call update, or an alert raised on the scoring instance. */
export type ScoresEvent = { kind: 'score'; score: SegmentScore } | { kind: 'call'; call: CallInfo } | { kind: 'alert'; alert: Alert };

/** Alert rule kinds a record may carry; typed as a Record so a new AlertRuleKind fails to compile here. */
const ALERT_RULES: Record<AlertRuleKind, true> = { ROLLING_BELOW: true, SUSTAINED_NEGATIVE: true, SHARP_DROP: true };

export interface ScoresRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

export function encodeScoresEvent(ev: ScoresEvent, origin: string): ScoresRecord {
  const body =
    ev.kind === 'score' ? { v: SCORES_FORMAT_VERSION, score: ev.score }
    : ev.kind === 'call' ? { v: SCORES_FORMAT_VERSION, call: ev.call }
    : { v: SCORES_FORMAT_VERSION, alert: ev.alert };
  const callId = ev.kind === 'score' ? ev.score.callId : ev.kind === 'call' ? ev.call.callId : ev.alert.callId;
  return { key: callId, value: JSON.stringify(body), headers: { [KIND_HEADER]: ev.kind, [ORIGIN_HEADER]: origin } };
}

const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses one record; null when it is not a scores-topic record this version understands. */
export function decodeScoresEvent(kind: string | undefined, value: Buffer | string | null): ScoresEvent | null {
  if (value === null || (kind !== 'score' && kind !== 'call' && kind !== 'alert')) return null;
  let body: unknown;
  try {
    body = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || (body as { v?: unknown }).v !== SCORES_FORMAT_VERSION) return null;
  if (kind === 'score') {
    const s = (body as { score?: Partial<SegmentScore> }).score;
    if (!s || !str(s.callId) || !str(s.tenant) || !str(s.channel) || !num(s.segmentIndex) || !num(s.revision) || !num(s.valence)) return null;
    return { kind, score: s as SegmentScore };
  }
  if (kind === 'alert') {
    const a = (body as { alert?: Partial<Alert> }).alert;
    if (!a || !str(a.id) || !str(a.tenant) || !str(a.callId) || !str(a.channel) || !str(a.rule) || !Object.hasOwn(ALERT_RULES, a.rule)) return null;
    if (!num(a.segmentIndex) || !num(a.valence) || !num(a.value) || !num(a.threshold) || !num(a.eventTimeMs) || !str(a.message) || !str(a.raisedAt)) return null;
    return { kind, alert: a as Alert };
  }
  const c = (body as { call?: Partial<CallInfo> }).call;
  if (!c || !str(c.callId) || !str(c.tenant) || !str(c.status) || !Array.isArray(c.channels)) return null;
  return { kind, call: c as CallInfo };
}

/** A header value as the Kafka client hands it over (Buffer, string, or an array when repeated). */
export function headerString(v: unknown): string | undefined {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'string') return v;
  return undefined;
}
