/**
 * Subscription resolvers: each operation gets its own hub subscription (own bounded queue),
 * filtered by the caller's tenant. graphql-ws calls `return()` on the iterator when the client
 * completes the operation or the socket closes, which removes it from the hub.
 */
import type { CallInfo, SegmentScore } from '../../core/types.js';
import type { ApiContext } from '../context.js';
import type { ApiDeps } from './deps.js';
import { toCallModel } from './models.js';

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

export function subscriptionResolvers(deps: ApiDeps) {
  return {
    segmentScored: {
      subscribe: (_: unknown, a: { callId?: string | null; channel?: string | null }, ctx: ApiContext) =>
        deps.feed.subscribeScores({ tenant: ctx.tenant, callId: opt(a.callId), channel: opt(a.channel) }),
      resolve: (score: SegmentScore) => score,
    },
    callUpdated: {
      subscribe: (_: unknown, a: { callId?: string | null }, ctx: ApiContext) =>
        deps.feed.subscribeCalls({ tenant: ctx.tenant, callId: opt(a.callId) }),
      resolve: (call: CallInfo) => toCallModel(call),
    },
  };
}
