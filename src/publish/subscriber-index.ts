/**
 * Subscribers indexed by the call they listen to: tenant, then call id, where either may be
 * "every" (ANY). An event of (tenant, callId) reaches the four slots (tenant | ANY) x
 * (callId | ANY), so publishing costs O(matching subscribers), not O(all subscribers).
 * Slots are freed as soon as they empty, so subscriber churn does not grow the maps.
 */

/** The slot of a scope left open: every tenant, or every call of a tenant. */
export const ANY = Symbol('any');
type Slot = string | typeof ANY;

export class SubscriberIndex<T> {
  private readonly byTenant = new Map<Slot, Map<Slot, Set<T>>>();

  /** Files `item` under (tenant, callId) (undefined = ANY); returns the function that removes it. */
  add(tenant: string | undefined, callId: string | undefined, item: T): () => void {
    const t: Slot = tenant ?? ANY;
    const c: Slot = callId ?? ANY;
    let byCall = this.byTenant.get(t);
    if (!byCall) this.byTenant.set(t, (byCall = new Map()));
    let set = byCall.get(c);
    if (!set) byCall.set(c, (set = new Set()));
    set.add(item);
    const calls = byCall;
    const members = set;
    return () => {
      members.delete(item);
      if (members.size === 0 && calls.get(c) === members) calls.delete(c);
      if (calls.size === 0 && this.byTenant.get(t) === calls) this.byTenant.delete(t);
    };
  }

  /** Calls `f` for every item filed under a slot an event of (tenant, callId) reaches. */
  forEachMatch(tenant: string, callId: string, f: (item: T) => void): void {
    for (const byCall of [this.byTenant.get(tenant), this.byTenant.get(ANY)]) {
      if (!byCall) continue;
      const exact = byCall.get(callId);
      if (exact) for (const item of exact) f(item);
      const any = byCall.get(ANY);
      if (any) for (const item of any) f(item);
    }
  }

  /** Every item (shutdown). */
  *all(): Iterable<T> {
    for (const byCall of this.byTenant.values()) for (const set of byCall.values()) yield* set;
  }
}
