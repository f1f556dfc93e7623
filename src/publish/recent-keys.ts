/**
 * A bounded set of recently seen keys (insertion order, oldest evicted first). The hub uses it
 * to drop repeats of the same (call, channel, segment, revision): at-least-once delivery from a
 * Kafka scores topic, or a local publish followed by its echo from that topic, must reach a
 * subscriber once. A revision has a different key, so it always passes.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();

  /** @param capacity keys remembered, >= 1; policy at the bound: forget the oldest. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be an integer >= 1, got ${capacity}`);
  }

  /** True when `key` was not seen within the window (and remembers it). */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }

  get size(): number {
    return this.keys.size;
  }
}
