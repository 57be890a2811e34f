import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { meshProtos } from '../core/discovery/proto.js';
import type { DiscoveryResponse, WireSubscriber } from '../core/discovery/wire-types.js';
import type { MeshState } from '../core/model/mesh.js';
import { publicationOf, type MeshPublication } from './mesh-publication.js';
import { PushEncoder } from './push-encoder.js';
import { SubscriberSession } from './subscriber-session.js';

const decode = meshProtos().discoveryDefinition.Stream!.responseDeserialize as unknown as (
  b: Buffer,
) => DiscoveryResponse;

const state = (nodes: string[]): MeshState => ({
  trustDomain: 'td',
  workloads: [],
  meshDestinations: [],
  nodes: nodes.map((name) => ({ name, address: '10.0.0.1', identity: `spiffe://td/ambit/node/${name}` })),
  services: [],
  waypoints: [],
  authorizationPolicies: [],
  peerAuthentications: [],
  routes: [],
  trafficPolicies: [],
});

function harness(
  initial: MeshPublication,
  subscriber: WireSubscriber = { kind: 'ztunnel', node: 'n1', name: '' },
  encoder = new PushEncoder(),
) {
  let current = initial;
  const sent: DiscoveryResponse[] = [];
  const session = new SubscriberSession(
    subscriber,
    'peer',
    (b) => sent.push(decode(b)),
    () => current,
    encoder,
    pino({ level: 'silent' }),
  );
  return {
    session,
    sent,
    publish(p: MeshPublication) {
      current = p;
      session.maybePush();
    },
    answer(error = '') {
      const last = sent.at(-1)!;
      session.onRequest({
        responseNonce: last.nonce,
        versionInfo: last.versionInfo,
        errorDetail: error,
        subscriber: null,
      });
    },
  };
}

describe('SubscriberSession flow control', () => {
  const v1 = publicationOf(state(['a']));
  const v2 = publicationOf(state(['a', 'b']));
  const v3 = publicationOf(state(['a', 'b', 'c']));
  const v4 = publicationOf(state(['b', 'c']));

  it('sends a full snapshot first, then only real deltas', () => {
    const h = harness(v1);
    h.session.maybePush();
    expect(h.sent[0]).toMatchObject({ full: true, versionInfo: v1.version });
    expect(h.sent[0]!.resources.map((r) => r.key)).toEqual(['a']);
    h.answer();
    h.publish(v2);
    expect(h.sent[1]).toMatchObject({ full: false, versionInfo: v2.version, removed: [] });
    expect(h.sent[1]!.resources.map((r) => r.key)).toEqual(['b']);
    h.answer();
    h.publish(v4);
    expect(h.sent[2]!.resources.map((r) => r.key)).toEqual(['c']);
    expect(h.sent[2]!.removed).toEqual([{ type: 'node', key: 'a' }]);
    expect(new Set(h.sent.map((s) => s.nonce)).size).toBe(3);
  });

  it('coalesces a burst while a push is in flight into one push of the newest version', () => {
    const h = harness(v1);
    h.session.maybePush();
    h.publish(v2);
    h.publish(v3);
    h.publish(v4);
    expect(h.sent).toHaveLength(1);
    h.answer();
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]).toMatchObject({ full: false, versionInfo: v4.version });
    expect(h.sent[1]!.resources.map((r) => r.key).sort()).toEqual(['b', 'c']);
    expect(h.sent[1]!.removed).toEqual([{ type: 'node', key: 'a' }]);
  });

  it('does not re-send a NACKed version, records the error, and diffs the next one from the last ACK', () => {
    const h = harness(v1);
    h.session.maybePush();
    h.answer();
    h.publish(v2);
    h.answer('cannot apply');
    expect(h.session.record).toMatchObject({
      lastAckedVersion: v1.version,
      lastNackVersion: v2.version,
      lastNackError: 'cannot apply',
    });
    h.session.maybePush();
    expect(h.sent).toHaveLength(2);
    h.publish(v3);
    expect(h.sent[2]!.resources.map((r) => r.key).sort()).toEqual(['b', 'c']);
    h.answer();
    expect(h.session.record.lastAckedVersion).toBe(v3.version);
  });

  it('ignores answers with a stale nonce', () => {
    const h = harness(v1);
    h.session.maybePush();
    h.session.onRequest({
      responseNonce: 'stale',
      versionInfo: v1.version,
      errorDetail: '',
      subscriber: null,
    });
    expect(h.session.record.lastAckedVersion).toBeUndefined();
  });
});

describe('SubscriberSession views', () => {
  const withPolicy = (nodes: string[]): MeshState => ({
    ...state(nodes),
    peerAuthentications: [
      { namespace: 'ns', name: 'pa', mode: 'STRICT', portLevelMtls: {}, meshWide: false },
    ],
  });

  it('pushes each subscriber its own view (viewFor) under the publication version', () => {
    const v1 = publicationOf(withPolicy(['a']));
    const v2 = publicationOf(withPolicy(['a', 'b']));
    const agent = harness(v1, { kind: 'agent', node: 'a', name: '' });
    const ztunnel = harness(v1);
    const waypoint = harness(v1, { kind: 'waypoint', node: '', name: 'ns/wp' });
    for (const h of [agent, ztunnel, waypoint]) h.session.maybePush();
    const keys = (r: DiscoveryResponse) => r.resources.map((x) => `${x.type}|${x.key}`);
    // nodes are read by the ztunnel only; the agent reads PeerAuthentications; a waypoint that
    // serves nothing in this mesh gets no records at all
    expect(keys(agent.sent[0]!)).toEqual(['peer-authentication|ns/pa']);
    expect(keys(ztunnel.sent[0]!)).toEqual(['node|a', 'peer-authentication|ns/pa']);
    expect(keys(waypoint.sent[0]!)).toEqual([]);
    for (const h of [agent, ztunnel, waypoint]) {
      expect(h.sent[0]).toMatchObject({ full: true, versionInfo: v1.version });
      h.answer();
      h.publish(v2);
    }
    // the delta is computed against each subscriber's own view: only the ztunnel's changed
    expect(agent.sent[1]).toMatchObject({ full: false, versionInfo: v2.version, resources: [], removed: [] });
    expect(keys(ztunnel.sent[1]!)).toEqual(['node|b']);
    expect(waypoint.sent[1]).toMatchObject({
      full: false,
      versionInfo: v2.version,
      resources: [],
      removed: [],
    });
  });

  it('builds one view per cache key and one encoded push per (view, acked view) pair', () => {
    const pub = publicationOf(withPolicy(['a']));
    expect(pub.viewOf({ kind: 'ztunnel', node: 'a' })).toBe(pub.viewOf({ kind: 'ztunnel', node: 'b' }));
    expect(pub.viewOf({ kind: 'ztunnel', node: 'a' })).not.toBe(pub.viewOf({ kind: 'agent', node: 'a' }));
    const encoder = new PushEncoder();
    const view = pub.viewOf({ kind: 'ztunnel', node: 'a' }).view;
    expect(encoder.encode(pub, view, undefined)).toBe(encoder.encode(pub, view, undefined));
  });
});
