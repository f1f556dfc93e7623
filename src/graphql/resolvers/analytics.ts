/**
 * Resolvers for schema/analytics.graphql, to merge with the base resolver map.
 *
 * Context they expect: the API's `{ tenant }` (src/auth/api-context.ts) — `tenant` is the caller's
 * tenant (undefined/null: no tenant filter, for operators only). The score store, alert store,
 * hub and rules come in through `deps`, like the base resolvers' ApiDeps.
 *
 * A call is (tenant, callId) throughout: call ids are unique only within a tenant, so every
 * store read names the tenant (the caller's, or for operators the parent's own).
 *
 * Parents: `Call.analytics` reads `id` (or `callId`) and `tenant` from the base Call model;
 * `CallSummary.call` returns a Call model (toCallModel). `SegmentScore.*` read the core
 * SegmentScore.
 */
import { AppError } from '../../core/errors.js';
import type { CallInfo, SegmentScore, SentimentLabel } from '../../core/types.js';
import type { CallSummary } from '../../core/alerts.js';
import type { AlertStore, ScoreStore } from '../../core/ports.js';
import { toCallModel } from './models.js';
import type { Analytics } from '../../analytics/index.js';
import type { Alert } from '../../analytics/alert.js';
import type { AlertHub } from '../../analytics/hub.js';
import type { AlertRuleKind, AlertRulesPatch } from '../../analytics/rules.js';
import type { AnalyticsService } from '../../analytics/service.js';
import { callAnalytics, type ChannelAnalytics, ROLLING_WINDOW } from '../../analytics/stats.js';
import { talkAnalytics, type TalkAnalytics } from '../../analytics/talk.js';

/** What the analytics resolvers read from the GraphQL context. */
export interface AnalyticsContext {
  tenant?: string | null;
}

interface CallAnalyticsParent {
  callId: string;
  tenant: string | undefined;
  scores: Promise<SegmentScore[]>;
}

const MODALITY_ORDER = ['text', 'audio', 'video'] as const;

/** The modality with the largest weight; ties go to the earlier of text, audio, video. */
export function dominantModality(w: SegmentScore['modalityWeights']): string {
  let best: (typeof MODALITY_ORDER)[number] = 'text';
  for (const m of MODALITY_ORDER) if (w[m] > w[best]) best = m;
  return best;
}

/** All latest-revision scores of a call, every page. */
async function allSegments(store: ScoreStore, callId: string, tenant: string | undefined): Promise<SegmentScore[]> {
  const out: SegmentScore[] = [];
  let after: string | undefined;
  do {
    const page = await store.getSegments({ tenant, callId, first: 500, after, latestOnly: true });
    for (const e of page.items) out.push(e.node);
    after = page.hasNextPage && page.endCursor ? page.endCursor : undefined;
  } while (after);
  return out;
}

const tenantOf = (ctx: AnalyticsContext) => ctx.tenant ?? undefined;

const connection = <T>(p: { items: { node: T; cursor: string }[]; hasNextPage: boolean; endCursor: string | null; totalCount: number }) => ({
  edges: p.items,
  pageInfo: { hasNextPage: p.hasNextPage, endCursor: p.endCursor },
  totalCount: p.totalCount,
});

/** Builds the resolver map over the analytics service, its alert store and hub. */
/** The analytics part of the API: schema/analytics.graphql and its resolvers, to pass in
 *  ApiServerOptions.schemaExtensions. */
export function analyticsSchema(a: Analytics): { typeDefs: string; resolvers: ReturnType<typeof createAnalyticsResolvers> } {
  return { typeDefs: a.typeDefs, resolvers: createAnalyticsResolvers({ service: a.service, alertStore: a.store, hub: a.hub, scoreStore: a.scoreStore }) };
}

export function createAnalyticsResolvers(deps: { service: AnalyticsService; alertStore: AlertStore; hub: AlertHub; scoreStore: ScoreStore }) {
  const { service, alertStore, hub, scoreStore } = deps;
  return {
    Call: {
      analytics(call: Partial<CallInfo> & { id?: string }, _: unknown, ctx: AnalyticsContext): CallAnalyticsParent {
        const callId = call.id ?? call.callId;
        if (!callId) throw new AppError('INTERNAL', { reason: 'Call parent has no id' });
        const tenant = tenantOf(ctx) ?? call.tenant;
        return { callId, tenant, scores: allSegments(scoreStore, callId, tenant) };
      },
    },
    CallAnalytics: {
      channels: async (p: CallAnalyticsParent): Promise<ChannelAnalytics[]> => callAnalytics(await p.scores),
      channel: async (p: CallAnalyticsParent, args: { name: string }) => callAnalytics(await p.scores).find((c) => c.channel === args.name) ?? null,
      talk: async (p: CallAnalyticsParent): Promise<TalkAnalytics> => talkAnalytics(await p.scores),
      alerts: (p: CallAnalyticsParent) => alertStore.alertsOfCall(p.callId, p.tenant),
    },
    ChannelAnalytics: {
      rollingWindow: () => ROLLING_WINDOW,
    },
    SegmentScore: {
      dominantModality: (s: SegmentScore) => dominantModality(s.modalityWeights),
      textSimulated: (s: SegmentScore) => s.modalities.text === 'SIMULATED',
    },
    CallSummary: {
      talk: async (s: CallSummary, _: unknown, ctx: AnalyticsContext): Promise<TalkAnalytics> => {
        const caller = tenantOf(ctx);
        if (caller !== undefined && caller !== s.tenant) return talkAnalytics([]);
        return talkAnalytics(await allSegments(scoreStore, s.callId, s.tenant));
      },
      call: async (s: CallSummary, _: unknown, ctx: AnalyticsContext) => {
        // The summary's own tenant (an operator's search spans tenants); never another than the caller's.
        const caller = tenantOf(ctx);
        if (caller !== undefined && caller !== s.tenant) return null;
        const call = await scoreStore.getCall(s.callId, s.tenant);
        return call && toCallModel(call);
      },
    },
    Query: {
      alerts: async (_: unknown, a: { callId?: string | null; rule?: AlertRuleKind | null; sinceMs?: number | null; first: number; after?: string | null }, ctx: AnalyticsContext) =>
        connection(await alertStore.listAlerts({ tenant: tenantOf(ctx), callId: a.callId ?? undefined, rule: a.rule ?? undefined, sinceMs: a.sinceMs ?? undefined, first: a.first, after: a.after ?? undefined })),
      alertRules: (_: unknown, __: unknown, ctx: AnalyticsContext) => service.rulesFor(requireTenant(ctx)),
      searchCalls: async (
        _: unknown,
        a: { filter?: { fromMs?: number | null; toMs?: number | null; channel?: string | null; minMeanValence?: number | null; maxMeanValence?: number | null; sentiment?: SentimentLabel | null; hasAlerts?: boolean | null } | null; first: number; after?: string | null },
        ctx: AnalyticsContext,
      ) => {
        const f = a.filter ?? {};
        const page = await alertStore.searchCalls({
          tenant: tenantOf(ctx),
          fromMs: f.fromMs ?? undefined,
          toMs: f.toMs ?? undefined,
          channel: f.channel ?? undefined,
          minMeanValence: f.minMeanValence ?? undefined,
          maxMeanValence: f.maxMeanValence ?? undefined,
          sentiment: f.sentiment ?? undefined,
          hasAlerts: f.hasAlerts ?? undefined,
          first: a.first,
          after: a.after ?? undefined,
        });
        return connection(page);
      },
    },
    Mutation: {
      setAlertRules: (_: unknown, a: { rules: AlertRulesPatch }, ctx: AnalyticsContext) => service.setRules(requireTenant(ctx), a.rules),
    },
    Subscription: {
      alerts: {
        subscribe: (_: unknown, a: { callId?: string | null }, ctx: AnalyticsContext) => hub.subscribe({ tenant: tenantOf(ctx), callId: a.callId ?? undefined }),
        resolve: (alert: Alert) => alert,
      },
    },
  };
}

/** Rules belong to a tenant: a caller without one cannot read or set them. */
function requireTenant(ctx: AnalyticsContext): string {
  if (!ctx.tenant) throw new AppError('FORBIDDEN', { reason: 'alert rules need a tenant' });
  return ctx.tenant;
}
