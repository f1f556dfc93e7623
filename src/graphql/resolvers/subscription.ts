/**
 * Subscription resolvers: each operation gets its own hub subscription (own bounded queue),
 * filtered by the caller's tenant. graphql-ws calls `return()` on the iterator when the client
 * completes the operation or the socket closes, which removes it from the hub.
 *
 * `segmentScored(since:)` resumes: storage first (every revision stored since then), then the
 * live stream (src/publish/resume.ts: the live subscription opens before storage is read, so
 * nothing falls between; keys stored around the switch are yielded once). Every ScoreStore keeps
 * that history (core/ports.ts: ScoreStore extends ScoreHistory).
 */
import { resumeScores } from '../../publish/resume.js';
import type { ScoreHistory } from '../../core/ports.js';
import type { CallInfo, SegmentScore } from '../../core/types.js';
import type { ApiContext } from '../../auth/api-context.js';
import type { ApiDeps } from './deps.js';
import { toCallModel } from './models.js';

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

export function subscriptionResolvers(deps: ApiDeps) {
  return {
    segmentScored: {
      subscribe: (_: unknown, a: { callId?: string | null; channel?: string | null; since?: number | null }, ctx: ApiContext) => {
        const filter = { tenant: ctx.tenant, callId: opt(a.callId), channel: opt(a.channel) };
        if (a.since === undefined || a.since === null) return deps.feed.subscribeScores(filter);
        return resumeScores(deps.feed, deps.store, filter, { sinceMs: a.since });
      },
      resolve: (score: SegmentScore) => score,
    },
    callUpdated: {
      subscribe: (_: unknown, a: { callId?: string | null }, ctx: ApiContext) =>
        deps.feed.subscribeCalls({ tenant: ctx.tenant, callId: opt(a.callId) }),
      resolve: (call: CallInfo) => toCallModel(call),
    },
  };
}
