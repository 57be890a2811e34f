import { describe, expect, it } from 'vitest';
import type { MeshState } from '../core/model/mesh.js';
import { emptyConfig } from '../core/model/validate-config.js';
import type { SubscriberRecord } from './subscriber-session.js';
import {
  ProgrammedTransitions,
  programmedCondition,
  waypointStatuses,
  type WaypointFacts,
  type WaypointStatus,
} from './waypoint-status.js';

const ONE_READY = { instances: 1, readyInstances: 1 };

/** Each case: the facts and the Programmed condition they give (status/reason and a message pattern). */
const CASES: { description: string; facts: WaypointFacts; want: string; message: RegExp }[] = [
  {
    description: 'no instance subscribed',
    facts: { ...ONE_READY, subscriptions: [] },
    want: 'False/Pending',
    message: /^no waypoint instance has subscribed \(1\/1 waypoint pods ready\)$/,
  },
  {
    description: 'no instance subscribed and no pods',
    facts: { instances: 0, readyInstances: 0, subscriptions: [] },
    want: 'False/Pending',
    message: /^no waypoint instance has subscribed \(0\/0 waypoint pods ready\)$/,
  },
  {
    description: 'subscribed, push in flight, no ACK yet',
    facts: { ...ONE_READY, subscriptions: [{ lastSentVersion: 'v1' }] },
    want: 'False/Pending',
    message: /^1 waypoint instance subscribed but none has ACKed version v1$/,
  },
  {
    description: 'subscribed, nothing pushed yet',
    facts: { ...ONE_READY, subscriptions: [{}, {}] },
    want: 'False/Pending',
    message: /^2 waypoint instances subscribed but nothing has been pushed yet$/,
  },
  {
    description: 'every subscribed instance NACKed and none ever ACKed',
    facts: {
      ...ONE_READY,
      subscriptions: [{ lastSentVersion: 'v2', lastNackVersion: 'v2', lastNackError: 'bad route' }],
    },
    want: 'False/Invalid',
    message: /NACKed its config \(1 instance; version v2: bad route\)/,
  },
  {
    description: 'one NACKed, one still waiting: Pending, not Invalid',
    facts: {
      ...ONE_READY,
      subscriptions: [
        { lastSentVersion: 'v2', lastNackVersion: 'v2', lastNackError: 'x' },
        { lastSentVersion: 'v2' },
      ],
    },
    want: 'False/Pending',
    message: /2 waypoint instances subscribed but none has ACKed version v2/,
  },
  {
    description: 'ACKed but no waypoint pod ready',
    facts: {
      instances: 2,
      readyInstances: 0,
      subscriptions: [{ lastSentVersion: 'v1', lastAckedVersion: 'v1' }],
    },
    want: 'False/Pending',
    message: /1 waypoint instance ACKed, but no waypoint pod is ready \(0\/2 waypoint pods ready\)/,
  },
  {
    description: 'one instance ACKed',
    facts: { ...ONE_READY, subscriptions: [{ lastSentVersion: 'v1', lastAckedVersion: 'v1' }] },
    want: 'True/Programmed',
    message: /^1 of 1 subscribed instance ACKed \(version v1\); 1\/1 waypoint pods ready$/,
  },
  {
    description: 'one of two ACKed, a later version NACKed: still serving its last good config',
    facts: {
      instances: 2,
      readyInstances: 2,
      subscriptions: [
        { lastSentVersion: 'v2', lastAckedVersion: 'v1', lastNackVersion: 'v2', lastNackError: 'x' },
        { lastSentVersion: 'v2' },
      ],
    },
    want: 'True/Programmed',
    message: /^1 of 2 subscribed instances ACKed \(version v1\)/,
  },
];

describe('programmedCondition', () => {
  it.each(CASES)('$description', ({ facts, want, message }) => {
    const c = programmedCondition(facts);
    expect(`${c.status}/${c.reason}`).toBe(want);
    expect(c.type).toBe('Programmed');
    expect(c.message).toMatch(message);
    expect(c).not.toHaveProperty('observedGeneration');
  });

  it('carries observedGeneration when the Gateway has a generation', () => {
    expect(programmedCondition({ ...ONE_READY, generation: 3, subscriptions: [] }).observedGeneration).toBe(
      3,
    );
  });
});

describe('waypointStatuses', () => {
  const state = {
    waypoints: [
      {
        namespace: 'shop',
        name: 'waypoint',
        for: 'service',
        identity: 'spiffe://td/ns/shop/sa/waypoint',
        instances: [
          { workloadUid: 'u1', ip: '10.0.0.1', node: 'n1', ready: true },
          { workloadUid: 'u2', ip: '10.0.0.2', node: 'n2', ready: false },
        ],
      },
      { namespace: 'pay', name: 'waypoint', for: 'service', instances: [] },
    ],
  } as Partial<MeshState> as MeshState;
  const config = emptyConfig();
  config.Gateway.push({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'waypoint', namespace: 'shop', generation: 4 },
    spec: {
      gatewayClassName: 'ambit-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    },
  });
  const record = (kind: string, name: string, o: Partial<SubscriberRecord> = {}): SubscriberRecord => ({
    subscriber: { kind, node: kind === 'waypoint' ? '' : 'n1', name },
    peer: 'ipv4:127.0.0.1:1',
    connected: true,
    connectedAt: '2024-01-01T00:00:00.000Z',
    ...o,
  });

  it('counts only the open streams of that waypoint, one per instance', () => {
    const { waypoints } = waypointStatuses(config, state, [
      record('waypoint', 'shop/waypoint', { lastSentVersion: 'v1', lastAckedVersion: 'v1' }),
      record('waypoint', 'shop/waypoint', { lastSentVersion: 'v1' }),
      record('waypoint', 'shop/waypoint', { connected: false, lastAckedVersion: 'v0' }),
      record('ztunnel', 'shop/waypoint', { lastAckedVersion: 'v1' }),
      record('waypoint', 'other/waypoint', { lastAckedVersion: 'v1' }),
    ]);
    expect(waypoints).toEqual([
      {
        namespace: 'shop',
        name: 'waypoint',
        instances: 2,
        readyInstances: 1,
        subscribedInstances: 2,
        ackedInstances: 1,
        conditions: [
          {
            type: 'Accepted',
            status: 'True',
            reason: 'Accepted',
            message: 'Accepted',
            observedGeneration: 4,
          },
          {
            type: 'Programmed',
            status: 'True',
            reason: 'Programmed',
            message: '1 of 2 subscribed instances ACKed (version v1); 1/2 waypoint pods ready',
            observedGeneration: 4,
          },
        ],
      },
      {
        namespace: 'pay',
        name: 'waypoint',
        instances: 0,
        readyInstances: 0,
        subscribedInstances: 0,
        ackedInstances: 0,
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Accepted' },
          {
            type: 'Programmed',
            status: 'False',
            reason: 'Pending',
            message: 'no waypoint instance has subscribed (0/0 waypoint pods ready)',
          },
        ],
      },
    ]);
  });
});

describe('ProgrammedTransitions', () => {
  const wp = (name: string, status: 'True' | 'False', reason: string): WaypointStatus => ({
    namespace: 'shop',
    name,
    instances: 1,
    readyInstances: 1,
    subscribedInstances: 0,
    ackedInstances: 0,
    conditions: [{ type: 'Programmed', status, reason, message: '' }],
  });
  it('reports a waypoint when it first appears and each time its Programmed status or reason changes', () => {
    const t = new ProgrammedTransitions();
    const names = (ws: WaypointStatus[]) => ws.map((w) => w.name);
    expect(names(t.observe([wp('a', 'False', 'Pending'), wp('b', 'False', 'Pending')]))).toEqual(['a', 'b']);
    expect(names(t.observe([wp('a', 'False', 'Pending'), wp('b', 'False', 'Pending')]))).toEqual([]);
    expect(names(t.observe([wp('a', 'True', 'Programmed'), wp('b', 'False', 'Invalid')]))).toEqual([
      'a',
      'b',
    ]);
    expect(names(t.observe([wp('a', 'True', 'Programmed')]))).toEqual([]);
    // b went away and came back: reported again
    expect(names(t.observe([wp('a', 'False', 'Pending'), wp('b', 'False', 'Invalid')]))).toEqual(['a', 'b']);
  });
});
