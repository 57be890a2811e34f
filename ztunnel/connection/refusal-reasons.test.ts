import { describe, expect, it } from 'vitest';
import {
  OUTBOUND_ANSWERS,
  RESPONSE_FLAGS,
  tunnelFailure,
  type OutboundFailure,
  type RefusalReason,
} from './refusal-reasons.js';
import { HboneTunnelError, type HboneTunnelCode } from '../hbone/tunnel-error.js';
import type { ResponseFlag } from '../telemetry/tcp-labels.js';

// reason, response flag, what a SOCKS5 client hears (outbound reasons only)
const CASES: [RefusalReason, ResponseFlag, 'deny' | 'unreachable' | undefined][] = [
  ['unknown-source', 'UNKNOWN_SOURCE', 'deny'],
  ['source-not-on-node', 'UNKNOWN_SOURCE', 'deny'],
  ['no-ready-endpoint', 'NO_HEALTHY_UPSTREAM', 'deny'],
  ['no-destination-node', 'DENY', 'deny'],
  ['no-waypoint-instance', 'NO_HEALTHY_UPSTREAM', 'deny'],
  ['waypoint-without-identity', 'DENY', 'deny'],
  ['hbone-setup', 'CONNECT', 'unreachable'],
  ['hbone-connect', 'CONNECT', 'unreachable'],
  ['hbone-tls', 'TLS_FAILURE', 'unreachable'],
  ['peer-identity', 'TLS_FAILURE', 'unreachable'],
  ['tunnel-request', 'CONNECT', 'unreachable'],
  ['tunnel-denied', 'DENY', 'deny'],
  ['tunnel-refused', 'CONNECT', 'unreachable'],
  ['tunnel-reset', 'CONNECT', 'unreachable'],
  ['upstream-connect', 'CONNECT', 'unreachable'],
  ['not-connect', 'CONNECT', undefined],
  ['bad-authority', 'CONNECT', undefined],
  ['unknown-destination', 'CONNECT', undefined],
  ['not-on-this-node', 'CONNECT', undefined],
  ['mtls-required', 'DENY', undefined],
  ['not-from-waypoint', 'DENY', undefined],
  ['policy', 'DENY', undefined],
];

describe('refusal reasons', () => {
  it.each(CASES)('%s is counted with %s', (reason, flag, answer) => {
    expect(RESPONSE_FLAGS[reason]).toBe(flag);
    expect((OUTBOUND_ANSWERS as Record<string, string>)[reason]).toBe(answer);
  });

  it('the table above has one case per reason the ztunnel knows', () => {
    expect(CASES.map(([r]) => r).sort()).toEqual(Object.keys(RESPONSE_FLAGS).sort());
    expect(CASES.filter(([, , a]) => a).length).toBe(Object.keys(OUTBOUND_ANSWERS).length);
  });

  it('a reason without a flag does not compile', () => {
    const { policy: _dropped, ...withoutPolicy } = RESPONSE_FLAGS;
    // @ts-expect-error: 'policy' is missing, so this is not a Record<RefusalReason, ResponseFlag>
    const incomplete: Record<RefusalReason, ResponseFlag> = withoutPolicy;
    expect(Object.keys(incomplete)).not.toContain('policy');
  });
});

describe('tunnelFailure', () => {
  const cases: [HboneTunnelCode, number | undefined, OutboundFailure][] = [
    ['ZT_HBONE_CONNECT', undefined, 'hbone-connect'],
    ['ZT_HBONE_TLS', undefined, 'hbone-tls'],
    ['ZT_PEER_IDENTITY', undefined, 'peer-identity'],
    ['ZT_TUNNEL_REQUEST', undefined, 'tunnel-request'],
    ['ZT_TUNNEL_REFUSED', 401, 'tunnel-denied'],
    ['ZT_TUNNEL_REFUSED', 503, 'tunnel-refused'],
    ['ZT_TUNNEL_REFUSED', 400, 'tunnel-refused'],
    ['ZT_TUNNEL_RESET', undefined, 'tunnel-reset'],
  ];
  it.each(cases)('%s (status %s) is %s', (code, status, failure) => {
    const e = new HboneTunnelError(code, 'whatever the message says', status ? { status } : {});
    expect(tunnelFailure(e)).toBe(failure);
  });

  it('classifies by code alone, whatever the message says', () => {
    const e = new HboneTunnelError('ZT_HBONE_CONNECT', 'tls handshake certificate alert ssl');
    expect(tunnelFailure(e)).toBe('hbone-connect');
    expect(RESPONSE_FLAGS[tunnelFailure(e)]).toBe('CONNECT');
  });

  it('gives every tunnel error the hint of its code', () => {
    const e = new HboneTunnelError('ZT_TUNNEL_REFUSED', 'HBONE CONNECT answered 401', { status: 401 });
    expect(e.code).toBe('ZT_TUNNEL_REFUSED');
    expect(e.status).toBe(401);
    expect(e.hint).toMatch(/401 is policy/);
    expect(e.name).toBe('HboneTunnelError');
  });
});
