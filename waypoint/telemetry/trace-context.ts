// Trace context on the wire: W3C `traceparent` (exactly 55 chars, version 00, else none: the
// waypoint starts a new trace) and B3, both the single `b3` header and the multi
// `x-b3-traceid/spanid/sampled/flags` headers, parsed from a request and formatted for an upstream
// request. Pure string functions; no spans, no sampling decision (tracing.ts makes those).

export interface TraceContext {
  /** 32 lower-case hex digits (a 64-bit B3 id is left-padded with zeros). */
  traceId: string;
  /** 16 lower-case hex digits. */
  spanId: string;
  sampled: boolean;
  /** The context came in as B3. */
  b3: boolean;
}

/** What a request carries in: the parent to continue, the sampling decision, how to propagate. */
export interface IncomingContext {
  parent?: TraceContext;
  /** A sampling decision that came in (W3C flag, B3 sampled/debug); absent: the waypoint decides. */
  sampled?: boolean;
  /** The B3 form the request used; the upstream request gets the same form for the new span. */
  b3?: 'single' | 'multi';
  /** W3C tracestate, forwarded unchanged with a W3C parent. */
  tracestate?: string;
}

type Headers = Record<string, string | string[] | undefined>;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function one(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A version-00 traceparent of exactly 55 characters with non-zero ids, else undefined. */
export function parseTraceparent(v: string | undefined): TraceContext | undefined {
  if (v === undefined || v.length !== 55) return undefined;
  const [, traceId, spanId, flags] = TRACEPARENT.exec(v) ?? [];
  if (traceId === undefined || spanId === undefined || flags === undefined) return undefined;
  if (traceId === ZERO32 || spanId === ZERO16) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1, b3: false };
}

export function formatTraceparent(c: Pick<TraceContext, 'traceId' | 'spanId' | 'sampled'>): string {
  return `00-${c.traceId}-${c.spanId}-${c.sampled ? '01' : '00'}`;
}

/** A 64- or 128-bit B3 trace id as 32 hex digits; undefined when invalid or zero. */
function b3TraceId(v: string | undefined): string | undefined {
  const t = v?.toLowerCase();
  if (t === undefined) return undefined;
  const full = t.length === 16 ? `${ZERO16}${t}` : t;
  return HEX32.test(full) && full !== ZERO32 ? full : undefined;
}

function b3SpanId(v: string | undefined): string | undefined {
  const s = v?.toLowerCase();
  return s !== undefined && HEX16.test(s) && s !== ZERO16 ? s : undefined;
}

/** B3 sampling state: `1`/`d` (debug)/`true` sample, `0`/`false` do not; anything else defers. */
function b3Sampled(v: string | undefined): boolean | undefined {
  switch (v?.toLowerCase()) {
    case '1':
    case 'd':
    case 'true':
      return true;
    case '0':
    case 'false':
      return false;
    default:
      return undefined;
  }
}

/** The single `b3` header: `{trace}-{span}[-{sampling}[-{parent}]]`, or a lone sampling state. */
export function parseB3Single(
  v: string | undefined,
): { parent?: TraceContext; sampled?: boolean } | undefined {
  if (!v) return undefined;
  const parts = v.trim().split('-');
  if (parts.length === 1) {
    const sampled = b3Sampled(parts[0]);
    return sampled === undefined ? undefined : { sampled };
  }
  if (parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0]);
  const spanId = b3SpanId(parts[1]);
  if (traceId === undefined || spanId === undefined) return undefined;
  const sampled = parts.length >= 3 ? b3Sampled(parts[2]) : undefined;
  if (parts.length >= 3 && sampled === undefined) return undefined;
  if (parts.length === 4 && b3SpanId(parts[3]) === undefined) return undefined;
  return {
    parent: { traceId, spanId, sampled: sampled ?? false, b3: true },
    ...(sampled !== undefined ? { sampled } : {}),
  };
}

/** The multi-header B3 form; `x-b3-flags: 1` (debug) means sampled. */
export function parseB3Multi(h: Headers): { parent?: TraceContext; sampled?: boolean } | undefined {
  const rawTrace = one(h, 'x-b3-traceid');
  const rawSpan = one(h, 'x-b3-spanid');
  const sampled = one(h, 'x-b3-flags') === '1' ? true : b3Sampled(one(h, 'x-b3-sampled'));
  if (rawTrace === undefined && rawSpan === undefined) return sampled === undefined ? undefined : { sampled };
  const traceId = b3TraceId(rawTrace);
  const spanId = b3SpanId(rawSpan);
  if (traceId === undefined || spanId === undefined) return undefined;
  return {
    parent: { traceId, spanId, sampled: sampled ?? false, b3: true },
    ...(sampled !== undefined ? { sampled } : {}),
  };
}

/**
 * The context a request carries: a valid W3C traceparent first, else B3 (single, then multi).
 * Header names are lower-case (Node's). Whether B3 is propagated upstream depends only on the
 * request having carried B3, even when traceparent was the parent.
 */
export function incomingContext(headers: Headers): IncomingContext {
  const single = one(headers, 'b3');
  const b3s = parseB3Single(single);
  const b3m = b3s ? undefined : parseB3Multi(headers);
  const b3Form: IncomingContext['b3'] =
    single !== undefined
      ? 'single'
      : one(headers, 'x-b3-traceid') !== undefined || one(headers, 'x-b3-sampled') !== undefined
        ? 'multi'
        : undefined;
  const out: IncomingContext = b3Form ? { b3: b3Form } : {};
  const w3c = parseTraceparent(one(headers, 'traceparent'));
  if (w3c) {
    out.parent = w3c;
    out.sampled = w3c.sampled;
    const ts = one(headers, 'tracestate');
    if (ts) out.tracestate = ts;
    return out;
  }
  const b3 = b3s ?? b3m;
  if (b3?.parent) out.parent = b3.parent;
  if (b3?.sampled !== undefined) out.sampled = b3.sampled;
  return out;
}

/**
 * The trace headers for an upstream request whose parent is `span` (the attempt's client span):
 * always traceparent (and the incoming tracestate), plus B3 in the form the request used, with
 * `parentSpanId` (the server span) as B3's parent.
 */
export function upstreamHeaders(
  span: Pick<TraceContext, 'traceId' | 'spanId' | 'sampled'>,
  o: {
    b3?: 'single' | 'multi' | undefined;
    parentSpanId?: string | undefined;
    tracestate?: string | undefined;
  },
): Record<string, string> {
  const out: Record<string, string> = { traceparent: formatTraceparent(span) };
  if (o.tracestate) out.tracestate = o.tracestate;
  const s = span.sampled ? '1' : '0';
  if (o.b3 === 'single') {
    out.b3 = `${span.traceId}-${span.spanId}-${s}${o.parentSpanId ? `-${o.parentSpanId}` : ''}`;
  } else if (o.b3 === 'multi') {
    out['x-b3-traceid'] = span.traceId;
    out['x-b3-spanid'] = span.spanId;
    out['x-b3-sampled'] = s;
    if (o.parentSpanId) out['x-b3-parentspanid'] = o.parentSpanId;
  }
  return out;
}
