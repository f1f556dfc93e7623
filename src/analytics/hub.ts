/**
 * Alerts to GraphQL subscribers, on the one fan-out (src/publish/hub.ts): each subscriber has
 * its own bounded queue (`bufferSize`, default 256) with policy drop-oldest, so one slow
 * dashboard never holds memory or slows the others; drops are counted (`droppedOldest`).
 * Alerts are rare (a few per call), so a subscriber that hits the bound is stuck, and the
 * dashboard re-queries `alerts` on reconnect. No repeat check here: the scores bridge drops
 * repeated alert ids from the topic itself (it counts them).
 */
import { Hub, type Route } from '../publish/hub.js';
import { DEFAULT_SUBSCRIBER_CAPACITY } from '../publish/subscription.js';
import type { Alert } from './alert.js';

/**
 * Which alerts a subscriber gets. Both set: one tenant's call, as (tenant, callId), because call
 * ids are unique only within a tenant. `tenant` undefined matches every tenant (operators only;
 * the resolvers always pass the caller's tenant).
 */
export interface AlertFilter {
  tenant?: string;
  callId?: string;
}

export interface AlertHubOptions {
  /** Undelivered alerts held per subscriber (default 256). */
  bufferSize?: number;
}

export type AlertHub = Hub<Alert, AlertFilter>;

const alertRoute: Route<Alert, AlertFilter> = { callOf: (a) => a, scopeOf: (f) => f };

export function createAlertHub(o: AlertHubOptions = {}): AlertHub {
  return new Hub(alertRoute, { subscriber: { capacity: o.bufferSize ?? DEFAULT_SUBSCRIBER_CAPACITY, policy: 'drop-oldest' } });
}
