// A tiny watch over the current snapshot: get() for a connection to read once, subscribe() for
// the parts that react to changes (certificate prefetch, pool retirement). No shared mutation:
// set() swaps the whole immutable snapshot.
export class SnapshotWatch<T> {
  private current: T | undefined;
  private readonly listeners = new Set<(value: T) => void>();

  get(): T | undefined {
    return this.current;
  }

  set(value: T): void {
    this.current = value;
    for (const l of this.listeners) l(value);
  }

  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The first snapshot set from now on that satisfies `ready`; rejects with `onTimeout()` when
   * none did within timeoutMs (a component's start-up wait for its own record).
   */
  first(ready: (value: T) => boolean, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(onTimeout());
      }, timeoutMs);
      const off = this.subscribe((s) => {
        if (!ready(s)) return;
        clearTimeout(timer);
        off();
        resolve(s);
      });
    });
  }
}
