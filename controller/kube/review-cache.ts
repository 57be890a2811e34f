// A bounded cache of token-review outcomes: least recently used entries go first once it holds
// `maxEntries`, and each entry expires at its own time (injected clock). Keys are SHA-256 digests
// of tokens, never tokens. No I/O; the reviewer decides what to keep and for how long.

export class ReviewCache<V> {
  /** Map order is recency: a hit moves its entry to the end, eviction takes the first. */
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (this.now() >= e.expiresAt) return undefined;
    this.entries.set(key, e);
    return e.value;
  }

  /** Keeps `value` until `expiresAt` (absolute, on the injected clock); nothing when already past. */
  set(key: string, value: V, expiresAt: number): void {
    this.entries.delete(key);
    if (this.now() >= expiresAt) return;
    this.entries.set(key, { value, expiresAt });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
