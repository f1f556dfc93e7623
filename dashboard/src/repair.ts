/**
 * Gap repair. A server may drop events for a subscriber that falls behind (the hub's bounded
 * queue, drop-oldest), and a socket can close between two events. Segment indices of a channel
 * run 0, 1, 2 ..., so a score whose predecessor is missing reveals a gap; so does a call that
 * ends. Either way the call's stored scores are re-queried (once per call at a time, batched
 * after a short delay so a burst of gaps costs one query) and merged.
 */
import type { Api } from './api.js';
import type { Model } from './model.js';
import { SCORE_FIELDS } from './queries.js';
import type { Score } from './types.js';

/** Wait before re-querying, ms: gaps seen meanwhile join the same query. */
const DELAY_MS = 400;
/** Calls re-queried in one request (GraphQL aliases). */
const BATCH = 20;

export class GapRepair {
  private readonly wanted = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  /** Calls re-queried since start (the browser test reads it). */
  repaired = 0;

  constructor(
    private readonly api: Api,
    private readonly model: Model,
  ) {}

  /** Call after applying a live score: asks for a re-query when its predecessor is missing. */
  check(s: Score): void {
    if (s.segmentIndex === 0) return;
    const ch = this.model.calls.get(s.callId)?.channels.get(s.channel);
    if (!ch?.has(s.segmentIndex - 1)) this.want(s.callId);
  }

  want(callId: string): void {
    this.wanted.add(callId);
    if (!this.timer && !this.running) this.timer = setTimeout(() => void this.run(), DELAY_MS);
  }

  private async run(): Promise<void> {
    this.timer = null;
    this.running = true;
    try {
      while (this.wanted.size > 0) {
        const ids = [...this.wanted].slice(0, BATCH);
        for (const id of ids) this.wanted.delete(id);
        const q = `query Repair { ${ids.map((id, i) => `c${i}: call(id: ${JSON.stringify(id)}) { segments(first: 1000) { edges { node { ${SCORE_FIELDS} } } } }`).join(' ')} }`;
        const r = await this.api.query<Record<string, { segments: { edges: { node: Score }[] } } | null>>(q);
        for (const c of Object.values(r)) for (const e of c?.segments.edges ?? []) this.model.applyScore(e.node);
        this.repaired += ids.length;
      }
    } catch (e) {
      console.warn('gap repair failed; the next gap or reconnect retries', e);
    } finally {
      this.running = false;
    }
  }
}
