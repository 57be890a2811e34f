// What went wrong during the soak, by kind, with the failures the soak asked for (injected) kept
// apart from the ones it did not, plus what was carried (requests and bytes per load lane).
// errorKind() names a Node socket/HTTP/2 error by its stable `code`, never by message text.

export class ErrorTally {
  private readonly errors = new Map<string, number>();
  private readonly injected = new Map<string, number>();
  private readonly carried = new Map<string, { requests: number; bytes: number }>();

  /** A failure the soak did not ask for. */
  error(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  /** A failure the soak asked for and got, as it asked. */
  injectedError(kind: string): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
  }

  /** One request (or round trip) of `lane` answered, `bytes` of payload carried both ways. */
  ok(lane: string, bytes: number): void {
    const c = this.carried.get(lane) ?? { requests: 0, bytes: 0 };
    c.requests++;
    c.bytes += bytes;
    this.carried.set(lane, c);
  }

  snapshot(): TallySnapshot {
    const sorted = (m: Map<string, number>) =>
      Object.fromEntries([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
    return {
      errors: sorted(this.errors),
      injected: sorted(this.injected),
      carried: Object.fromEntries([...this.carried.entries()].map(([k, v]) => [k, { ...v }])),
    };
  }
}

export interface TallySnapshot {
  errors: Record<string, number>;
  injected: Record<string, number>;
  carried: Record<string, { requests: number; bytes: number }>;
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, n) => a + n, 0);
}

/** A short, stable name for an error: its `code` (ECONNRESET, ERR_HTTP2_STREAM_ERROR), else its class. */
export function errorKind(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    if (err instanceof Error) return err.name === 'Error' ? 'error' : err.name;
  }
  return 'error';
}
