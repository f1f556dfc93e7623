/**
 * The scores topic's record format (one record per stored score or call update).
 *
 *   key      call id (UTF-8): one call's updates stay in order on one partition
 *   headers  sst-kind: "score" | "call";  sst-origin: instance id of the producer
 *   value    JSON: { v: 1, score: SegmentScore } or { v: 1, call: CallInfo }
 *
 * Consumers check the shape before fanning a record out; a record that does not match is
 * counted and skipped (it can only come from another program writing to the topic).
 */
import type { CallInfo, SegmentScore } from '../core/types.js';

export const SCORES_FORMAT_VERSION = 1;
export const KIND_HEADER = 'sst-kind';
export const ORIGIN_HEADER = 'sst-origin';

export type ScoresEvent = { kind: 'score'; score: SegmentScore } | { kind: 'call'; call: CallInfo };

export interface ScoresRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

export function encodeScoresEvent(ev: ScoresEvent, origin: string): ScoresRecord {
  const body = ev.kind === 'score' ? { v: SCORES_FORMAT_VERSION, score: ev.score } : { v: SCORES_FORMAT_VERSION, call: ev.call };
  const callId = ev.kind === 'score' ? ev.score.callId : ev.call.callId;
  return { key: callId, value: JSON.stringify(body), headers: { [KIND_HEADER]: ev.kind, [ORIGIN_HEADER]: origin } };
}

const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses one record; null when it is not a scores-topic record this version understands. */
export function decodeScoresEvent(kind: string | undefined, value: Buffer | string | null): ScoresEvent | null {
  if (value === null || (kind !== 'score' && kind !== 'call')) return null;
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
  const c = (body as { call?: Partial<CallInfo> }).call;
  if (!c || !str(c.callId) || !str(c.tenant) || !str(c.status) || !Array.isArray(c.channels)) return null;
  return { kind, call: c as CallInfo };
}

/** A header value as kafkajs hands it over (Buffer, string, or an array when repeated). */
export function headerString(v: unknown): string | undefined {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'string') return v;
  return undefined;
}
