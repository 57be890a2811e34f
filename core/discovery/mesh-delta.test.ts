import { describe, expect, it } from 'vitest';
import { diffViews } from './mesh-delta.js';
import { decodeRecord, type MeshRecord } from './record-decoders.js';
import {
  encodeMeshState,
  isMeshResourceType,
  meshStateFromRecords,
  meshStateToView,
  splitViewKey,
  viewVersion,
} from './mesh-resources.js';
import type { MeshState } from '../model/mesh.js';

const state = (ports: number[], nodes: string[]): MeshState => ({
  trustDomain: 'td',
  workloads: [],
  meshDestinations: [],
  nodes: nodes.map((name) => ({ name, address: '10.0.0.1', identity: `spiffe://td/ambit/node/${name}` })),
  services: ports.map((port, i) => ({
    namespace: 'ns',
    name: `s${i}`,
    hostname: `s${i}.ns.svc.cluster.local`,
    vips: [],
    ports: [{ port, targetPort: port, protocol: 'TCP' }],
    labels: {},
    endpoints: [],
  })),
  waypoints: [],
  authorizationPolicies: [],
  peerAuthentications: [],
  routes: [],
  trafficPolicies: [],
});

describe('views and deltas', () => {
  it.each([
    { description: 'no change', from: state([80], ['a']), to: state([80], ['a']), upserts: [], removals: [] },
    {
      description: 'one changed service',
      from: state([80, 81], ['a']),
      to: state([80, 82], ['a']),
      upserts: ['service|ns/s1'],
      removals: [],
    },
    {
      description: 'added and removed nodes',
      from: state([], ['a', 'b']),
      to: state([], ['b', 'c']),
      upserts: ['node|c'],
      removals: ['node|a'],
    },
  ])('$description', ({ from, to, upserts, removals }) => {
    expect(diffViews(meshStateToView(from), meshStateToView(to))).toEqual({ upserts, removals });
  });

  it('round-trips a state through records and versions by content', () => {
    const s = state([80, 81], ['b', 'a']);
    const view = meshStateToView(s);
    const records = new Map<string, Map<string, MeshRecord>>();
    for (const [k, v] of view) {
      const { type, key } = splitViewKey(k);
      if (!isMeshResourceType(type)) throw new Error(type);
      const d = decodeRecord(type, key, v);
      if (!d.valid) throw new Error(d.errors.join('; '));
      if (!records.has(type)) records.set(type, new Map());
      records.get(type)!.set(key, d.record);
    }
    const back = meshStateFromRecords('td', records);
    expect(back.services).toEqual(s.services);
    expect(back.nodes.map((n) => n.name)).toEqual(['a', 'b']);
    expect(viewVersion(view, 'td')).toBe(viewVersion(meshStateToView(state([80, 81], ['a', 'b'])), 'td'));
    expect(viewVersion(view, 'td')).not.toBe(viewVersion(meshStateToView(state([80], ['a', 'b'])), 'td'));
    // the controller's one-pass version: equal states (fresh objects) give equal versions
    expect(encodeMeshState(state([80], ['a'])).version).toBe(encodeMeshState(state([80], ['a'])).version);
    expect(encodeMeshState(state([80], ['a'])).version).not.toBe(encodeMeshState(state([81], ['a'])).version);
  });
});
