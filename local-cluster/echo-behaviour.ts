// What the pod app's echo does with one request, decided from the request and the pod's settings
// before anything is written: answer (which status, after what delay) or hang. Pure apart from the
// retry-simulation attempt counts it is handed. The knobs, for the resilience and conformance tests:
//   echo-basic's (Gateway API conformance): `?delay=1s`, `/status/NNN`, `/retry/?uuid=..&succeedAfter=N
//     [&responseCode=NNN][&delayRetry=300ms]` (fail the first N attempts of one uuid; without
//     responseCode the connection is reset);
//   Ambit's request headers: x-ambit-echo-status: NNN, x-ambit-echo-fail-percent: P (answer
//     x-ambit-echo-status or 503 to P% of requests), x-ambit-echo-delay-ms: N, x-ambit-echo-hang: 1,
//     x-ambit-echo-id + x-ambit-echo-succeed-after: N (echo-basic's retry simulation by header);
//   per pod (environment, so a backend misbehaves without the client asking): AMBIT_ECHO_STATUS,
//     AMBIT_ECHO_FAIL_PERCENT, AMBIT_ECHO_FAIL_STATUS, AMBIT_ECHO_DELAY_MS, AMBIT_ECHO_HANG=1.

export interface EchoSettings {
  status?: number;
  failPercent?: number;
  failStatus?: number;
  delayMs?: number;
  hang?: boolean;
}

export interface EchoRequestFacts {
  path: string;
  query: URLSearchParams;
  /** lower-case header name -> value (first value) */
  header: (name: string) => string | undefined;
}

export type EchoDecision =
  | { kind: 'respond'; status: number; delayMs: number; echo: boolean }
  | { kind: 'reset'; delayMs: number }
  | { kind: 'hang' };

/** Reads the per-pod settings from the environment. */
export function echoSettingsFromEnv(env: NodeJS.ProcessEnv): EchoSettings {
  const num = (k: string): number | undefined => {
    const v = env[k];
    return v === undefined || v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v);
  };
  const s: EchoSettings = {};
  const status = num('AMBIT_ECHO_STATUS');
  if (status !== undefined) s.status = status;
  const failPercent = num('AMBIT_ECHO_FAIL_PERCENT');
  if (failPercent !== undefined) s.failPercent = failPercent;
  const failStatus = num('AMBIT_ECHO_FAIL_STATUS');
  if (failStatus !== undefined) s.failStatus = failStatus;
  const delayMs = num('AMBIT_ECHO_DELAY_MS');
  if (delayMs !== undefined) s.delayMs = delayMs;
  if (env.AMBIT_ECHO_HANG === '1') s.hang = true;
  return s;
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration ("300ms", "1s", "1.5s", "1m30s") in milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNITS[m[2] ?? ''] ?? 0);
    matched = re.lastIndex;
  }
  return matched === text.length && matched > 0 ? total : undefined;
}

function statusCode(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{3}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 100 && n <= 599 ? n : undefined;
}

/**
 * Decides one request. `attempts` counts the retry simulation per id (mutated: one more attempt);
 * `random` is in [0, 1).
 */
export function decideEcho(
  req: EchoRequestFacts,
  settings: EchoSettings,
  attempts: Map<string, number>,
  random: () => number,
): EchoDecision {
  if (req.header('x-ambit-echo-hang') === '1' || settings.hang) return { kind: 'hang' };
  const headerDelay = Number(req.header('x-ambit-echo-delay-ms') ?? NaN);
  const queryDelay = parseGoDuration(req.query.get('delay') ?? '');
  const delayMs = Number.isFinite(headerDelay) ? headerDelay : (queryDelay ?? settings.delayMs ?? 0);

  const status = req.path.match(/^\/status\/(\d{3})$/);
  if (status) return { kind: 'respond', status: statusCode(status[1]) ?? 400, delayMs, echo: false };

  // echo-basic's retry simulation (by query on /retry/..., or by header anywhere)
  const byQuery = req.path.startsWith('/retry/');
  const id = byQuery ? req.query.get('uuid') : req.header('x-ambit-echo-id');
  const succeedAfter = byQuery ? req.query.get('succeedAfter') : req.header('x-ambit-echo-succeed-after');
  if (byQuery && (!id || succeedAfter === null || !/^\d+$/.test(succeedAfter ?? ''))) {
    return { kind: 'respond', status: 400, delayMs: 0, echo: false };
  }
  if (id && succeedAfter !== undefined && succeedAfter !== null && /^\d+$/.test(succeedAfter)) {
    const seen = attempts.get(id) ?? 0;
    if (seen < Number(succeedAfter)) {
      attempts.set(id, seen + 1);
      const failDelay =
        parseGoDuration(
          (byQuery ? req.query.get('delayRetry') : req.header('x-ambit-echo-delay-retry')) ?? '',
        ) ?? 0;
      const code = statusCode(
        (byQuery ? req.query.get('responseCode') : req.header('x-ambit-echo-status')) ?? undefined,
      );
      return code === undefined
        ? { kind: 'reset', delayMs: failDelay }
        : { kind: 'respond', status: code, delayMs: failDelay, echo: false };
    }
    return { kind: 'respond', status: 200, delayMs, echo: true };
  }

  const askedStatus = statusCode(req.header('x-ambit-echo-status'));
  const failPercent = Number(req.header('x-ambit-echo-fail-percent') ?? settings.failPercent ?? 0);
  if (failPercent > 0 && random() * 100 < failPercent) {
    return { kind: 'respond', status: askedStatus ?? settings.failStatus ?? 503, delayMs, echo: false };
  }
  if (req.header('x-ambit-echo-fail-percent') === undefined && askedStatus !== undefined) {
    return { kind: 'respond', status: askedStatus, delayMs, echo: true };
  }
  return { kind: 'respond', status: settings.status ?? 200, delayMs, echo: true };
}
