/**
 * How many WebSockets and subscriptions one caller may hold (issue 13, finding 5: any caller,
 * or anyone in dev mode, could open sockets and subscriptions until the server ran out of
 * memory). Counted per source address (before any credential is read), per tenant (after the
 * socket authenticates) and per connection (ws.ts, `maxOperationsPerConnection`).
 *
 * Refusals, each named (docs/security.md):
 * - source over its socket bound: the upgrade is answered HTTP 429 TOO_MANY_CONNECTIONS and
 *   no socket opens (it is counted before auth, so it also bounds unauthenticated floods and
 *   every dev-mode caller);
 * - tenant over its socket bound: the socket is closed with TOO_MANY_CONNECTIONS_CLOSE_CODE
 *   (1013 "try again later": graphql-ws clients retry it with backoff);
 * - tenant over its subscription bound: that operation fails with TOO_MANY_SUBSCRIPTIONS
 *   (scope tenant); the socket and its other operations go on.
 */

/** Close code of a socket refused because its tenant holds too many (RFC 6455 1013, Try Again Later). */
export const TOO_MANY_CONNECTIONS_CLOSE_CODE = 1013;

export interface ConnectionLimits {
  /** Open WebSockets from one source address. Default 256 (API_MAX_SOCKETS_PER_SOURCE). */
  maxSocketsPerSource: number;
  /** Authenticated WebSockets of one tenant. Default 1_000 (API_MAX_SOCKETS_PER_TENANT). */
  maxSocketsPerTenant: number;
  /** Operations of one tenant over all its sockets. Default 10_000 (API_MAX_SUBSCRIPTIONS_PER_TENANT). */
  maxSubscriptionsPerTenant: number;
}

/**
 * Defaults sized from bench/resume-memory.ts: an idle resume subscription now holds a few KB,
 * so 10,000 per tenant stay in the tens of MB; 256 sockets per address leave room for a
 * dashboard per browser tab behind one NAT without letting one host hold thousands.
 */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxSocketsPerSource: 256,
  maxSocketsPerTenant: 1_000,
  maxSubscriptionsPerTenant: 10_000,
});

/** Counts by key (source address, tenant) that forget a key when it drops to 0. */
export class Counter {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Adds one unless the key is at `max`; true when added. */
  tryAdd(key: string, max: number): boolean {
    const n = this.get(key);
    if (n >= max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.get(key);
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }

  /** Keys held now (for tests: the map must empty when every socket is gone). */
  get size(): number {
    return this.counts.size;
  }
}
