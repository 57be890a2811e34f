// W3C trace and span ids, for the ztunnel's per-connection traceparent and the waypoint's requests
// that record no span (unsampled, or no OTLP endpoint) but still propagate a context: hex ids cut
// from a pooled random buffer refilled 4 KiB at a time, so a connection or request costs no crypto
// call of its own (randomBytes per id was ~3% of the waypoint's CPU). Ids only: no sampling
// decision, no spans.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

function hex(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const s = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return s;
}

const ZERO16 = '0'.repeat(16);
const ZERO32 = '0'.repeat(32);

/** 16 lower-case hex digits, never all zero (W3C forbids a zero span id). */
export function newSpanId(): string {
  let id = hex(8);
  while (id === ZERO16) id = hex(8);
  return id;
}

/** 32 lower-case hex digits, never all zero. */
export function newTraceId(): string {
  let id = hex(16);
  while (id === ZERO32) id = hex(16);
  return id;
}
