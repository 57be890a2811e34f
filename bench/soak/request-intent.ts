// Which L7 requests of the soak carry a failure on purpose, decided from the request's sequence
// number alone so every run offers the same mix: 1 in 100 asks the backend to fail (an injected
// error the client must see), 1 in 10 asks it to fail the first attempt only (the waypoint's retry
// must hide it), the rest are plain. Pure.

export type RequestIntent = 'plain' | 'retried' | 'injected';

export function requestIntent(seq: number): RequestIntent {
  if (seq % 100 === 50) return 'injected';
  if (seq % 10 === 3) return 'retried';
  return 'plain';
}

export type L7Outcome = { kind: 'ok' } | { kind: 'injected'; what: string } | { kind: 'error'; what: string };

/**
 * What one answer means: `answered` is the status the client saw (HTTP code, or gRPC status as a
 * string), `wantInjected` the one an injected failure must produce.
 */
export function judgeAnswer(
  intent: RequestIntent,
  answered: string,
  ok: string,
  wantInjected: string,
): L7Outcome {
  if (intent === 'injected') {
    if (answered === wantInjected) return { kind: 'injected', what: answered };
    if (answered === ok) return { kind: 'error', what: 'injected failure not seen' };
    return { kind: 'error', what: answered };
  }
  if (answered === ok) return { kind: 'ok' };
  return { kind: 'error', what: intent === 'retried' ? `${answered} (retry did not hide it)` : answered };
}
