// The two random choices routing makes per request: which weighted backendRef takes it, and whether
// a RequestMirror with percent/fraction fires. Pure on an injected `random: () => number` in [0, 1),
// so tests sweep it; the endpoint within a Service is load balancing's, not this file's.

/** A weight that cannot send anything (0, negative, not a number) counts as 0. */
const usable = (w: number): number => (Number.isFinite(w) && w > 0 ? w : 0);

/** Weighted pick; weight 0 never picked; undefined when all weights are 0 or none (-> 500 per Gateway API). */
export function pickBackend<B extends { weight: number }>(
  backends: readonly B[],
  random: () => number,
): B | undefined {
  let total = 0;
  let last: B | undefined;
  for (const b of backends) {
    const w = usable(b.weight);
    total += w;
    if (w > 0) last = b;
  }
  if (total === 0) return undefined;
  // one backend that can take traffic: no draw
  if (backends.length === 1) return last;
  const r = random() * total;
  let cumulative = 0;
  for (const b of backends) {
    const w = usable(b.weight);
    if (w === 0) continue;
    cumulative += w;
    if (r < cumulative) return b;
  }
  // random() out of [0, 1): the last backend that takes traffic
  return last;
}

export interface MirrorShare {
  percent?: number | undefined;
  fraction?: { numerator: number; denominator?: number | undefined } | undefined;
}

/**
 * Whether a mirror with percent/fraction fires for this request. Neither set: every request
 * (Gateway API); `fraction` defaults its denominator to 100; at or above the whole every request,
 * at 0 none (no draw in either case).
 */
export function mirrorFires(m: MirrorShare, random: () => number): boolean {
  let share: number;
  if (m.percent !== undefined) share = m.percent / 100;
  else if (m.fraction !== undefined) {
    const den = m.fraction.denominator ?? 100;
    share = den > 0 ? m.fraction.numerator / den : 0;
  } else return true;
  if (!(share > 0)) return false;
  if (share >= 1) return true;
  return random() < share;
}
