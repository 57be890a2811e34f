// The "client went away" signal of one request: set once, tells its listeners once. An
// AbortController plus AbortSignal cost ~20 µs a request in EventTarget machinery (~4% of the
// waypoint's CPU at 1,000 req/s) for what is a flag and a short list. Shaped like AbortSignal's
// subset the attempts use, so either can be passed.
export interface CancelListener {
  (): void;
}

/** What an attempt reads: AbortSignal satisfies it too. */
export interface Cancellation {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: CancelListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: CancelListener): void;
}

export class CancelSignal implements Cancellation {
  aborted = false;
  private listeners: CancelListener[] | undefined;

  /** Sets the flag and calls each listener once (later ones are called at once). */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const ls = this.listeners;
    this.listeners = undefined;
    if (ls) for (const l of ls) l();
  }

  addEventListener(_type: 'abort', listener: CancelListener, _options?: { once?: boolean }): void {
    if (this.aborted) return; // as AbortSignal: no event after the fact
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: CancelListener): void {
    const ls = this.listeners;
    if (!ls) return;
    const i = ls.indexOf(listener);
    if (i >= 0) ls.splice(i, 1);
  }
}
