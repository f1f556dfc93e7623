/** Query resolvers: history from the store, always limited to the caller's tenant. */
import type { CallInfo, SegmentScore } from '../../core/types.js';
import type { ApiContext } from '../../auth/api-context.js';
import type { ApiDeps } from './deps.js';
import { type CallModel, type Connection, toCallModel, toConnection } from './models.js';

interface SegmentsArgs {
  callId: string;
  channel?: string | null;
  first: number;
  after?: string | null;
  allRevisions?: boolean | null;
}

interface CallsArgs {
  filter?: { status?: CallInfo['status'] | null; startedAfter?: number | null; startedBefore?: number | null } | null;
  first: number;
  after?: string | null;
}

/** GraphQL passes absent optional arguments as undefined or null; the store wants undefined. */
const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

export function queryResolvers(deps: ApiDeps) {
  return {
    async segments(_: unknown, a: SegmentsArgs, ctx: ApiContext): Promise<Connection<SegmentScore>> {
      const page = await deps.store.getSegments({
        tenant: ctx.tenant, callId: a.callId, channel: opt(a.channel), first: a.first, after: opt(a.after), latestOnly: !a.allRevisions,
      });
      return toConnection(page);
    },

    async call(_: unknown, a: { id: string }, ctx: ApiContext): Promise<CallModel | null> {
      const call = await deps.store.getCall(a.id, ctx.tenant);
      return call && toCallModel(call);
    },

    async calls(_: unknown, a: CallsArgs, ctx: ApiContext): Promise<Connection<CallModel>> {
      const page = await deps.store.listCalls({
        tenant: ctx.tenant,
        status: opt(a.filter?.status),
        startedAfterMs: opt(a.filter?.startedAfter),
        startedBeforeMs: opt(a.filter?.startedBefore),
        first: a.first,
        after: opt(a.after),
      });
      return toConnection(page, toCallModel);
    },

    modelInfo() {
      const info = deps.scorerInfo();
      return {
        version: info.modelVersion,
        executionProvider: info.executionProvider,
        providerAttempts: info.providerAttempts,
        workers: info.workers,
        metrics: info.metrics === undefined || info.metrics === null ? null : JSON.stringify(info.metrics),
      };
    },

    async health() {
      const h = await deps.health();
      return { ...h, uptimeSeconds: Math.max(0, (Date.now() - deps.startedAtMs()) / 1000) };
    },
  };
}

export function callResolvers(deps: ApiDeps) {
  return {
    /** Nested segments of a call; the parent already passed the tenant check. */
    async segments(call: CallModel, a: { channel?: string | null; first: number; after?: string | null }): Promise<Connection<SegmentScore>> {
      const page = await deps.store.getSegments({ tenant: call.tenant, callId: call.id, channel: opt(a.channel), first: a.first, after: opt(a.after) });
      return toConnection(page);
    },
  };
}
