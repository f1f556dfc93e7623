/** Domain objects -> the shapes of the GraphQL types (field names as in schema/schema.graphql). */
import type { Page } from '../../core/ports.js';
import type { CallInfo } from '../../core/types.js';

/** A `Call` object: CallInfo plus the GraphQL field names. `segments` is resolved on demand. */
export interface CallModel {
  id: string;
  tenant: string;
  displayName: string | null;
  status: CallInfo['status'];
  /** ms since the unix epoch; the DateTime scalar serialises it. */
  startedAt: number;
  endedAt: number | null;
  channels: string[];
  segmentCount: number;
}

export function toCallModel(c: CallInfo): CallModel {
  return { id: c.callId, tenant: c.tenant, displayName: c.displayName ?? null, status: c.status, startedAt: c.startedAtMs, endedAt: c.endedAtMs, channels: c.channels, segmentCount: c.segmentCount };
}

export interface Connection<T> {
  edges: { node: T; cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export function toConnection<T, U = T>(page: Page<T>, map?: (t: T) => U): Connection<U> {
  return {
    edges: page.items.map((i) => ({ node: map ? map(i.node) : (i.node as unknown as U), cursor: i.cursor })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    totalCount: page.totalCount,
  };
}
