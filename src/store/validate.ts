/**
 * Input checks shared by every ScoreStore adapter, so SQLite and PostgreSQL reject the same
 * bad input with the same code (BAD_REQUEST) before anything reaches a driver.
 */
import { AppError } from '../core/errors.js';
import type { CallInfo, SegmentScore } from '../core/types.js';

/** The page limit lives in page.ts; re-exported for the API's cost limits (graphql/limits.ts). */
export { MAX_PAGE_SIZE } from './page.js';

const LABELS = new Set(['NEGATIVE', 'NEUTRAL', 'POSITIVE']);
const STATES = new Set(['PRESENT', 'MISSING', 'SIMULATED']);
const STATUSES = new Set(['ACTIVE', 'ENDED', 'TIMED_OUT']);

function fail(reason: string): never {
  throw new AppError('BAD_REQUEST', { reason });
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

/**
 * The one call-merge rule of every store: an update over the stored call never moves it
 * backwards, so replays and out-of-order updates are harmless. Status only moves forward, the
 * start is the earliest seen, channels and meta accumulate, counts never shrink, an end time or
 * display name once known is kept unless a new one is given.
 */
export function mergeCall(old: CallInfo, next: CallInfo): CallInfo {
  return {
    ...next,
    status: mergeStatus(old.status, next.status),
    startedAtMs: Math.min(old.startedAtMs, next.startedAtMs),
    endedAtMs: next.endedAtMs ?? old.endedAtMs,
    channels: [...new Set([...old.channels, ...next.channels])],
    segmentCount: Math.max(old.segmentCount, next.segmentCount),
    meta: { ...old.meta, ...next.meta },
    displayName: next.displayName ?? old.displayName ?? null,
  };
}
