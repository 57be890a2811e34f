// What the leader wants written (status-targets.ts) and how it merges into what an object carries
// (status-merge.ts): our route parents only, Programmed from pod readiness, other controllers'
// entries and condition types untouched, lastTransitionTime kept while a status holds, and
// "nothing to write" when only lastTransitionTime would differ.
import { describe, expect, it } from 'vitest';
import type { SubscriberRecord } from '../subscriber-session.js';
import { statusMesh } from './status-mesh.test-helper.js';
import { nextGatewayStatus, nextRouteStatus, type KubeRouteStatus } from './status-merge.js';
import {
  clusterProgrammedCondition,
  statusTargets,
  WAYPOINT_CONTROLLER_NAME,
  type GatewayTarget,
  type RouteTarget,
} from './status-targets.js';

const summary = (cs: readonly { type: string; status: string; reason: string }[]) =>
  cs.map((c) => `${c.type}=${c.status}/${c.reason}`);

function targetsOf(readyWaypoints: number, subscribers: SubscriberRecord[] = []) {
  const m = statusMesh();
  if (readyWaypoints !== 1) {
    for (const w of m.state.waypoints) w.instances.forEach((i, n) => (i.ready = n < readyWaypoints));
  }
  const ts = statusTargets(m.config, m.state, subscribers);
  const route = (kind: string, name: string): RouteTarget => {
    const t = ts.find((x): x is RouteTarget => x.kind === kind && x.name === name);
    if (!t) throw new Error(`no target ${kind} ${name}`);
    return t;
  };
  const gateway = (name: string): GatewayTarget => {
    const t = ts.find((x): x is GatewayTarget => x.kind === 'Gateway' && x.name === name);
    if (!t) throw new Error(`no Gateway target ${name}`);
    return t;
  };
  return { ts, route, gateway };
}

describe('statusTargets', () => {
  const { ts, route, gateway } = targetsOf(1);

  it.each([
    ['HTTPRoute', 'cart', ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']],
    [
      'HTTPRoute',
      'cart-partial',
      ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs', 'PartiallyInvalid=True/UnsupportedValue'],
    ],
    ['HTTPRoute', 'ghost', ['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']],
    ['GRPCRoute', 'rpc', ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']],
  ])('%s %s: one entry of ours with %j', (kind, name, want) => {
    const t = route(kind, name);
    expect(t.parents).toHaveLength(1);
    expect(t.parents[0]?.controllerName).toBe(WAYPOINT_CONTROLLER_NAME);
    expect(summary(t.parents[0]?.conditions ?? [])).toEqual(want);
  });

  it('reports nothing for a parent Gateway of another class (its own controller does)', () => {
    expect(route('HTTPRoute', 'edge-only').parents).toEqual([]);
  });

  it('writes only waypoint Gateways, with the waypoint Service ClusterIP as address', () => {
    expect(ts.filter((t) => t.kind === 'Gateway').map((t) => t.name)).toEqual(['waypoint']);
    expect(gateway('waypoint').addresses).toEqual([{ type: 'IPAddress', value: '10.96.0.20' }]);
    expect(summary(gateway('waypoint').conditions)).toEqual([
      'Accepted=True/Accepted',
      'Programmed=True/Programmed',
    ]);
  });

  it('is Programmed=False/Pending with no ready waypoint pod, whatever this replica ACKed', () => {
    const acked: SubscriberRecord = {
      subscriber: { kind: 'waypoint', name: 'shop/waypoint', node: '' },
      peer: '127.0.0.1',
      connected: true,
      connectedAt: '',
      lastAckedVersion: 'v1',
    };
    const { gateway: g } = targetsOf(0, [acked]);
    expect(summary(g('waypoint').conditions)).toEqual(['Accepted=True/Accepted', 'Programmed=False/Pending']);
  });
});

describe('clusterProgrammedCondition', () => {
  const pods = (ready: boolean[]) => ({
    instances: ready.map((r, i) => ({ workloadUid: `u${i}`, ip: `10.0.0.${i}`, node: 'n', ready: r })),
  });
  it.each([
    {
      description: 'no pods',
      w: pods([]),
      streams: [],
      want: 'False/Pending',
      msg: /no waypoint pod exists/,
    },
    {
      description: 'pods, none ready',
      w: pods([false, false]),
      streams: [],
      want: 'False/Pending',
      msg: /0\/2/,
    },
    {
      description: 'none ready, every stream here NACKed',
      w: pods([false]),
      streams: [{ lastNackVersion: 'v2', lastNackError: 'bad route' }],
      want: 'False/Invalid',
      msg: /v2: bad route/,
    },
    {
      description: 'none ready, one stream here ACKed, one NACKed',
      w: pods([false]),
      streams: [{ lastNackVersion: 'v2' }, { lastAckedVersion: 'v1' }],
      want: 'False/Pending',
      msg: /0\/1/,
    },
    {
      description: 'one of two ready, no stream here',
      w: pods([true, false]),
      streams: [],
      want: 'True/Programmed',
      msg: /1\/2/,
    },
    {
      description: 'unknown to the mesh state',
      w: undefined,
      streams: [],
      want: 'False/Pending',
      msg: /no waypoint pod/,
    },
  ])('$description', ({ w, streams, want, msg }) => {
    const c = clusterProgrammedCondition(w, streams, 3);
    expect(`${c.status}/${c.reason}`).toBe(want);
    expect(c.message).toMatch(msg);
    expect(c.observedGeneration).toBe(3);
  });
});

describe('nextRouteStatus', () => {
  const { route } = targetsOf(1);
  const cart = route('HTTPRoute', 'cart');
  const OTHER = {
    parentRef: { name: 'edge' },
    controllerName: 'istio.io/gateway-controller',
    conditions: [
      {
        type: 'Accepted',
        status: 'True',
        reason: 'Accepted',
        message: 'x',
        lastTransitionTime: '2020-01-01T00:00:00Z',
      },
    ],
  };

  it('adds our entry after the other controllers entries, which stay as they were', () => {
    const next = nextRouteStatus({ parents: [OTHER] }, cart, '2024-05-01T10:00:00Z');
    expect(next?.parents?.[0]).toEqual(OTHER);
    expect(next?.parents?.[1]).toMatchObject({
      controllerName: WAYPOINT_CONTROLLER_NAME,
      parentRef: cart.parents[0]?.parentRef,
    });
    expect(
      next?.parents?.[1]?.conditions?.every((c) => c.lastTransitionTime === '2024-05-01T10:00:00Z'),
    ).toBe(true);
  });

  it('has nothing to write when only lastTransitionTime would differ', () => {
    const first = nextRouteStatus({ parents: [OTHER] }, cart, '2024-05-01T10:00:00Z');
    expect(nextRouteStatus(first, cart, '2024-05-01T11:00:00Z')).toBeUndefined();
  });

  it('keeps lastTransitionTime while a status holds and moves it when the status flips', () => {
    const first = nextRouteStatus(undefined, cart, '2024-05-01T10:00:00Z') as KubeRouteStatus;
    const [p] = cart.parents;
    if (!p) throw new Error('no parent');
    const flipped: RouteTarget = {
      ...cart,
      parents: [
        {
          ...p,
          conditions: p.conditions.map((c) =>
            c.type === 'ResolvedRefs'
              ? { ...c, status: 'False' as const, reason: 'BackendNotFound', message: 'gone' }
              : { ...c, message: 'reworded' },
          ),
        },
      ],
    };
    const next = nextRouteStatus(first, flipped, '2024-05-01T12:00:00Z');
    const times = Object.fromEntries(
      (next?.parents?.[0]?.conditions ?? []).map((c) => [c.type, c.lastTransitionTime]),
    );
    expect(times).toEqual({ Accepted: '2024-05-01T10:00:00Z', ResolvedRefs: '2024-05-01T12:00:00Z' });
  });

  it('removes our entry when the parentRef went away, leaving the others', () => {
    const first = nextRouteStatus({ parents: [OTHER] }, cart, '2024-05-01T10:00:00Z');
    expect(nextRouteStatus(first, { ...cart, parents: [] }, '2024-05-01T11:00:00Z')).toEqual({
      parents: [OTHER],
    });
    expect(nextRouteStatus({ parents: [OTHER] }, { ...cart, parents: [] }, 'now')).toBeUndefined();
  });
});

describe('nextGatewayStatus', () => {
  const { gateway } = targetsOf(1);
  const wp = gateway('waypoint');
  // what the Gateway CRD defaults status to before any controller writes
  const DEFAULTED = {
    conditions: [
      {
        type: 'Accepted',
        status: 'Unknown',
        reason: 'Pending',
        message: 'Waiting for controller',
        lastTransitionTime: '1970-01-01T00:00:00Z',
      },
      {
        type: 'Programmed',
        status: 'Unknown',
        reason: 'Pending',
        message: 'Waiting for controller',
        lastTransitionTime: '1970-01-01T00:00:00Z',
      },
      {
        type: 'example.com/Audited',
        status: 'True',
        reason: 'Audited',
        message: '',
        lastTransitionTime: '2020-01-01T00:00:00Z',
      },
    ],
  };

  it('replaces our condition types, keeps others, sets the address; then has nothing more to write', () => {
    const next = nextGatewayStatus(DEFAULTED, wp, '2024-05-01T10:00:00Z');
    expect(summary(next?.conditions ?? [])).toEqual([
      'Accepted=True/Accepted',
      'Programmed=True/Programmed',
      'example.com/Audited=True/Audited',
    ]);
    expect(next?.addresses).toEqual([{ type: 'IPAddress', value: '10.96.0.20' }]);
    expect(nextGatewayStatus(next, wp, '2024-05-01T11:00:00Z')).toBeUndefined();
  });

  it('drops the address once the Service has none', () => {
    const next = nextGatewayStatus(DEFAULTED, wp, 't1');
    const again = nextGatewayStatus(next, { ...wp, addresses: [] }, 't2');
    expect(again).toBeDefined();
    expect(again?.addresses).toBeUndefined();
  });
});
