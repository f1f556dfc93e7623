/**
 * What may go into a log line at info level and above: ids, positions, counts and codes, never
 * transcript text (issue 13, finding 7: "call met mid-way" logged every stored span's text).
 * Transcripts are customer data; they are in the store for the API and nowhere else.
 */
import type { CallPosition } from '../window/recovery.js';

/** A call's hand-over position as a log field: per channel the next index, the covered end and
 *  how many text spans were loaded, without the texts. */
export function positionForLog(pos: CallPosition): { status: string; channels: Record<string, { nextIndex: number; endMs: number; textSpans: number }> } {
  const channels: Record<string, { nextIndex: number; endMs: number; textSpans: number }> = {};
  for (const [name, c] of pos.channels) channels[name] = { nextIndex: c.nextIndex, endMs: c.endMs, textSpans: c.spans.length };
  return { status: pos.call.status, channels };
}

/** A record key (call id) as a log field: producers can send anything there, so at most 128
 *  characters, and null when absent. */
export function keyForLog(key: Buffer | null | undefined): string | null {
  if (!key) return null;
  const s = key.subarray(0, 512).toString('utf8');
  return s.length > 128 ? `${s.slice(0, 128)}...` : s;
}
