import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ProxiedConnection, type ProxiedConnectionInit } from './proxied-connection.js';
import { ZtunnelMetrics } from '../telemetry/ztunnel-metrics.js';
import { LoadBalancerState } from '../outbound/endpoint-picker.js';

const ENDPOINT = '10.0.0.7:8080';

/** A connection on real metrics, a real LB state, a pino logger into memory and a fake clock. */
function setup(overrides: Partial<ProxiedConnectionInit> = {}) {
  const metrics = new ZtunnelMetrics();
  const lb = new LoadBalancerState();
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ base: null, timestamp: false }, { write: (s: string) => lines.push(JSON.parse(s)) });
  let clock = 10_000;
  const make = () =>
    new ProxiedConnection({
      metrics,
      logger,
      startedAt: clock,
      now: () => clock,
      labels: { reporter: 'source', destinationAddress: ENDPOINT, mtls: false },
      access: {
        direction: 'outbound',
        src: { ip: '10.0.0.1', port: 40000 },
        dst: { ip: '10.0.0.7', port: 8080 },
        originalDestination: ENDPOINT,
        decision: 'passthrough',
      },
      ...overrides,
    });
  const value = async (name: string, flags: string) => {
    const m = await metrics.registry.getSingleMetric(name)?.get();
    return m?.values.find((v) => v.labels.response_flags === flags)?.value ?? 0;
  };
  const openGauge = async () =>
    (await metrics.openTunnels.get()).values.find((v) => v.labels.direction === 'outbound')?.value ?? 0;
  return { metrics, lb, lines, make, value, openGauge, tick: (ms: number) => (clock += ms) };
}

describe('ProxiedConnection', () => {
  it('counts, logs and returns its load-balancer lease exactly once, however often it is closed', async () => {
    const { lb, lines, make, value, openGauge, tick } = setup();
    const other = make();
    other.hold(lb.lease(ENDPOINT));
    const conn = make();
    conn.hold(lb.lease(ENDPOINT));
    expect(lb.active(ENDPOINT)).toBe(2);

    conn.open();
    conn.open();
    expect(await openGauge()).toBe(1);
    tick(1_500);
    const end = { flags: '-' as const, result: 'ok', bytes: { sent: 300, received: 200 }, via: ENDPOINT };
    expect(conn.close(end)).toBe(true);
    expect(conn.close(end)).toBe(false);
    expect(conn.refuse('CONNECT', 'refused')).toBe(false);
    expect(conn.discard()).toBe(false);

    // the other connection still holds its slot: this one gave back exactly one
    expect(lb.active(ENDPOINT)).toBe(1);
    expect(await value('istio_tcp_connections_opened_total', '-')).toBe(1);
    expect(await value('istio_tcp_connections_closed_total', '-')).toBe(1);
    expect(await value('istio_tcp_sent_bytes_total', '-')).toBe(300);
    expect(await value('istio_tcp_received_bytes_total', '-')).toBe(200);
    expect(await value('istio_tcp_connections_opened_total', 'CONNECT')).toBe(0);
    expect(await openGauge()).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      access: { result: 'ok', responseFlags: '-', bytesSent: 300, bytesReceived: 200, durationMs: 1_500 },
    });

    other.close({ flags: '-', result: 'ok', bytes: { sent: 0, received: 0 } });
    expect(lb.active(ENDPOINT)).toBe(0);
  });

  it('counts a refusal opened and closed with its flags, and writes the access fields in the fixed order', async () => {
    const { lb, lines, make, value, openGauge } = setup();
    const conn = make();
    conn.hold(lb.lease(ENDPOINT));
    conn.refuse('CONNECT', 'refused', { via: ENDPOINT, error: 'connect ECONNREFUSED 10.0.0.7:8080' });
    conn.refuse('CONNECT', 'refused', { via: ENDPOINT, error: 'again' });
    expect(lb.active(ENDPOINT)).toBe(0);
    expect(await value('istio_tcp_connections_opened_total', 'CONNECT')).toBe(1);
    expect(await value('istio_tcp_connections_closed_total', 'CONNECT')).toBe(1);
    expect(await value('istio_tcp_connections_opened_total', '-')).toBe(0);
    expect(await openGauge()).toBe(0);
    expect(lines).toHaveLength(1);
    const access = lines[0]?.access as Record<string, unknown>;
    expect(JSON.stringify(access)).toBe(
      JSON.stringify({
        direction: 'outbound',
        src: { ip: '10.0.0.1', port: 40000 },
        dst: { ip: '10.0.0.7', port: 8080 },
        originalDestination: ENDPOINT,
        via: ENDPOINT,
        decision: 'passthrough',
        result: 'refused',
        responseFlags: 'CONNECT',
        bytesSent: 0,
        bytesReceived: 0,
        durationMs: 0,
        error: 'connect ECONNREFUSED 10.0.0.7:8080',
      }),
    );
    expect(lines[0]?.msg).toBe('outbound 10.0.0.1 -> 10.0.0.7 refused');
  });

  it('puts an inbound policy between the flags and the bytes, and leaves out what is unset', () => {
    const { lines, make } = setup({
      labels: { reporter: 'destination', mtls: true },
      access: {
        direction: 'inbound',
        src: { ip: '10.0.0.1', identity: 'spiffe://cluster.local/ns/a/sa/b' },
        dst: { ip: '10.0.0.7', port: 8080 },
        originalDestination: undefined,
        decision: 'reject:policy',
        policy: 'shop/deny-client',
      },
    });
    make().refuse('DENY', '401', { error: 'denied by shop/deny-client' });
    expect(Object.keys(lines[0]?.access as object)).toEqual([
      'direction',
      'src',
      'dst',
      'decision',
      'result',
      'responseFlags',
      'policy',
      'bytesSent',
      'bytesReceived',
      'durationMs',
      'error',
    ]);
  });

  it('discards a connection whose client left before it carried bytes: lease back, nothing counted or logged', async () => {
    const { lb, lines, make, value } = setup();
    const conn = make();
    conn.hold(lb.lease(ENDPOINT));
    expect(conn.discard()).toBe(true);
    expect(conn.close({ flags: '-', result: 'ok', bytes: { sent: 1, received: 1 } })).toBe(false);
    expect(lb.active(ENDPOINT)).toBe(0);
    expect(await value('istio_tcp_connections_opened_total', '-')).toBe(0);
    expect(await value('istio_tcp_connections_closed_total', '-')).toBe(0);
    expect(lines).toHaveLength(0);
    expect(conn.state).toBe('closed');
  });
});

describe('LoadBalancerState.lease', () => {
  it('gives the slot back once even when released twice', () => {
    const lb = new LoadBalancerState();
    const a = lb.lease(ENDPOINT);
    lb.lease(ENDPOINT);
    a.release();
    a.release();
    expect(lb.active(ENDPOINT)).toBe(1);
  });
});
