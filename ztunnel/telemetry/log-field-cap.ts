// Caps a string a peer controls (an :authority, forwarded, traceparent, an error message quoting
// them) before it reaches a log line, so a long header cannot multiply into the log: the first
// `max` characters and a marker with how many were cut. Pure.

export const LOG_FIELD_MAX = 256;

export function capField(s: string, max = LOG_FIELD_MAX): string {
  return s.length <= max ? s : `${s.slice(0, max)}…[+${s.length - max} chars]`;
}

/** capField for an optional field. */
export function capOptional(s: string | undefined, max = LOG_FIELD_MAX): string | undefined {
  return s === undefined ? undefined : capField(s, max);
}

/** The peer-controlled string fields of an access-log entry, capped; the rest untouched. */
export function capAccessFields<
  T extends { originalDestination?: string; via?: string; error?: string; policy?: string },
>(e: T): T {
  const out = { ...e };
  if (e.originalDestination !== undefined) out.originalDestination = capField(e.originalDestination);
  if (e.via !== undefined) out.via = capField(e.via);
  if (e.error !== undefined) out.error = capField(e.error);
  if (e.policy !== undefined) out.policy = capField(e.policy);
  return out;
}
