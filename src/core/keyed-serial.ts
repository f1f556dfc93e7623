/**
 * Work run one after another per key, concurrently across keys: the pipeline and the alert
 * service both keep a call's steps in order this way (a call's key is core/types `callKey`).
 * A key is forgotten as soon as its last work settles, so an ended call leaves nothing behind.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` after every earlier work of `key` has settled (succeeded or failed). */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const p = prev.then(work);
    const tail = p.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return p;
  }

  /** Keys with work queued or running. */
  get size(): number {
    return this.tails.size;
  }
}
