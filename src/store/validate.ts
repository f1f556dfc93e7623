/**
 * Input checks shared by every ScoreStore adapter, so SQLite and PostgreSQL reject the same
 * bad input with the same code (BAD_REQUEST) before anything reaches a driver.
 */
import { AppError } from '../core/errors.js';
import type { CallInfo, SegmentScore } from '../core/types.js';

/** Largest page a store returns, in rows. The API asks for less; this bounds memory per query. */
export const MAX_PAGE_SIZE = 1000;

const LABELS = new Set(['NEGATIVE', 'NEUTRAL', 'POSITIVE']);
const STATES = new Set(['PRESENT', 'MISSING', 'SIMULATED']);
const STATUSES = new Set(['ACTIVE', 'ENDED', 'TIMED_OUT']);

function fail(reason: string): never {
  throw new AppError('BAD_REQUEST', { reason });
}

/** `first` must be an integer in 1..MAX_PAGE_SIZE. */
export function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) fail(`first must be an integer in 1..${MAX_PAGE_SIZE}, got ${first}`);
  return first;
}

function nonEmpty(name: string, v: unknown): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) fail(`${name} must be a non-empty string of at most 256 characters`);
}

function finite(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${name} must be a finite number`);
}

function index(name: string, v: unknown): void {
  if (!Number.isSafeInteger(v) || (v as number) < 0) fail(`${name} must be a non-negative integer`);
}

export function checkScore(s: SegmentScore): void {
  nonEmpty('callId', s.callId);
  nonEmpty('tenant', s.tenant);
  nonEmpty('channel', s.channel);
  index('segmentIndex', s.segmentIndex);
  index('revision', s.revision);
  for (const k of ['startMs', 'endMs', 'valence', 'confidence'] as const) finite(k, s[k]);
  if (s.endMs < s.startMs) fail('endMs must not be before startMs');
  if (!LABELS.has(s.label)) fail(`label "${s.label}" is not a SentimentLabel`);
  for (const m of ['text', 'audio', 'video'] as const) {
    if (!STATES.has(s.modalities?.[m])) fail(`modalities.${m} must be PRESENT, MISSING or SIMULATED`);
    finite(`modalityWeights.${m}`, s.modalityWeights?.[m]);
  }
  if (s.text !== null && typeof s.text !== 'string') fail('text must be a string or null');
  nonEmpty('modelVersion', s.modelVersion);
  nonEmpty('executionProvider', s.executionProvider);
  if (typeof s.scoredAt !== 'string' || Number.isNaN(Date.parse(s.scoredAt))) fail('scoredAt must be an ISO date-time');
}

export function checkCall(c: CallInfo): void {
  nonEmpty('callId', c.callId);
  nonEmpty('tenant', c.tenant);
  if (!STATUSES.has(c.status)) fail(`status "${c.status}" is not a CallStatus`);
  finite('startedAtMs', c.startedAtMs);
  if (c.endedAtMs !== null) finite('endedAtMs', c.endedAtMs);
  index('segmentCount', c.segmentCount);
  if (!Array.isArray(c.channels) || !c.channels.every((ch) => typeof ch === 'string' && ch.length > 0)) fail('channels must be non-empty strings');
  if (typeof c.meta !== 'object' || c.meta === null) fail('meta must be an object');
}

/** Status only moves forward: ACTIVE -> ENDED | TIMED_OUT. A replayed ACTIVE never reopens a call. */
export function mergeStatus(prev: CallInfo['status'], next: CallInfo['status']): CallInfo['status'] {
  return prev !== 'ACTIVE' && next === 'ACTIVE' ? prev : next;
}
