// MeshState <-> keyed wire records. A view is a Map from `<type>|<key>` to the record's JSON; the
// controller diffs views to compute deltas, subscribers rebuild a MeshState from the records they
// hold. Lists are rebuilt sorted by key so equal record sets give equal states.
import { createHash } from 'node:crypto';
import type { MeshRecord, MeshRecordOf } from './record-decoders.js';
import { emptyMeshState, MESH_RESOURCE_TYPES, type MeshResourceType, type MeshState } from '../model/mesh.js';

export type ResourceView = ReadonlyMap<string, string>;

const LIST_OF: { readonly [T in MeshResourceType]: keyof Omit<MeshState, 'trustDomain'> } = {
  workload: 'workloads',
  'mesh-destination': 'meshDestinations',
  node: 'nodes',
  service: 'services',
  waypoint: 'waypoints',
  'authorization-policy': 'authorizationPolicies',
  'peer-authentication': 'peerAuthentications',
  route: 'routes',
  'traffic-policy': 'trafficPolicies',
};

const nsName = (r: { namespace: string; name: string }): string => `${r.namespace}/${r.name}`;

/** The key of each record kind: unique within its type, stable across states. */
const KEY_OF: { readonly [T in MeshResourceType]: (record: MeshRecordOf[T]) => string } = {
  workload: (r) => r.uid,
  'mesh-destination': (r) => r.uid,
  node: (r) => r.name,
  route: (r) => `${r.kind}/${r.namespace}/${r.name}`,
  service: nsName,
  waypoint: nsName,
  'authorization-policy': nsName,
  'peer-authentication': nsName,
  'traffic-policy': nsName,
};

export function resourceKey<T extends MeshResourceType>(type: T, record: MeshRecordOf[T]): string {
  return KEY_OF[type](record);
}

/** The records of one type in a state. */
export function recordsOf<T extends MeshResourceType>(state: MeshState, type: T): readonly MeshRecordOf[T][] {
  return LISTS[type](state);
}

const LISTS: { readonly [T in MeshResourceType]: (s: MeshState) => readonly MeshRecordOf[T][] } = {
  workload: (s) => s.workloads,
  'mesh-destination': (s) => s.meshDestinations,
  node: (s) => s.nodes,
  service: (s) => s.services,
  waypoint: (s) => s.waypoints,
  'authorization-policy': (s) => s.authorizationPolicies,
  'peer-authentication': (s) => s.peerAuthentications,
  route: (s) => s.routes,
  'traffic-policy': (s) => s.trafficPolicies,
};

export function viewKey(type: string, key: string): string {
  return `${type}|${key}`;
}

export function splitViewKey(k: string): { type: string; key: string } {
  const i = k.indexOf('|');
  return { type: k.slice(0, i), key: k.slice(i + 1) };
}

/** View key, JSON and digest of records by object: mesh records are immutable, and unchanged ones are reused between states. */
const encodedOf = new WeakMap<object, { key: string; json: string; tag: Buffer }>();

function encoded<T extends MeshResourceType>(
  type: T,
  record: MeshRecordOf[T],
): { key: string; json: string; tag: Buffer } {
  let e = encodedOf.get(record);
  if (e === undefined) {
    const json = JSON.stringify(record);
    const key = viewKey(type, resourceKey(type, record));
    // key and content digest, hashed into the version (one hash update per state, not per record)
    const tag = Buffer.concat([Buffer.from(`\0${key}\0`), createHash('sha1').update(json).digest()]);
    e = { key, json, tag };
    encodedOf.set(record, e);
  }
  return e;
}

/** The keyed view of a state, without its version (a subscriber's view is pushed under its state's). */
export function meshStateToView(state: MeshState): Map<string, string> {
  const view = new Map<string, string>();
  for (const type of MESH_RESOURCE_TYPES)
    for (const record of recordsOf(state, type)) {
      const e = encoded(type, record);
      view.set(e.key, e.json);
    }
  return view;
}

/**
 * The view and the content version of a state in one pass. The version hashes each record's key
 * and cached digest in the state's (sorted, deterministic) order, so equal states give equal
 * versions, across controller restarts too, and an unchanged record costs no hashing.
 */
export function encodeMeshState(state: MeshState): { view: Map<string, string>; version: string } {
  const view = new Map<string, string>();
  const tags: Buffer[] = [Buffer.from(state.trustDomain)];
  for (const type of MESH_RESOURCE_TYPES) {
    for (const record of recordsOf(state, type)) {
      const e = encoded(type, record);
      view.set(e.key, e.json);
      tags.push(e.tag);
    }
  }
  return { view, version: createHash('sha256').update(Buffer.concat(tags)).digest('hex').slice(0, 16) };
}

/** Content version of a view: equal records give equal versions, across controller restarts too. */
export function viewVersion(view: ResourceView, trustDomain: string): string {
  const h = createHash('sha256').update(trustDomain);
  for (const [k, v] of [...view.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    h.update('\0').update(k).update('\0').update(v);
  return h.digest('hex').slice(0, 16);
}

/** What a delta did to one type: the keys it upserted, and whether it added or removed any key. */
export interface TypeChange {
  upserted: string[];
  structural: boolean;
}

/** key -> position in a sorted list, cached per list (lists are immutable once built). */
const positions = new WeakMap<readonly unknown[], Map<string, number>>();

/**
 * The key of a record held under `type`. The client's maps hold, per type, only records that
 * type's decoder produced, so the widening to MeshRecord is the one place the pairing is assumed.
 */
function keyOfHeld(type: MeshResourceType, record: MeshRecord): string {
  return (KEY_OF[type] as (r: MeshRecord) => string)(record);
}

function positionsOf(type: MeshResourceType, list: readonly MeshRecord[]): Map<string, number> {
  let m = positions.get(list);
  if (!m) {
    m = new Map(list.map((r, i) => [keyOfHeld(type, r), i]));
    positions.set(list, m);
  }
  return m;
}

function setList(state: MeshState, type: MeshResourceType, list: readonly MeshRecord[]): void {
  (state[LIST_OF[type]] as readonly MeshRecord[]) = list;
}

/**
 * Rebuilds a MeshState from decoded records keyed per type. With `reuse`, lists of untouched types
 * are taken from the previous state as they are, and a type whose delta only replaced existing
 * records is patched in place of a copy (a one-Service delta costs one array copy, not a sort).
 */
export function meshStateFromRecords(
  trustDomain: string,
  records: ReadonlyMap<string, ReadonlyMap<string, MeshRecord>>,
  reuse?: { state: MeshState; touched: ReadonlyMap<string, TypeChange> },
): MeshState {
  const state = emptyMeshState(trustDomain);
  for (const type of MESH_RESOURCE_TYPES) {
    const byKey = records.get(type);
    if (reuse && reuse.state.trustDomain === trustDomain) {
      const previous: readonly MeshRecord[] = recordsOf(reuse.state, type);
      const change = reuse.touched.get(type);
      if (!change) {
        setList(state, type, previous);
        continue;
      }
      if (!change.structural && byKey) {
        const at = positionsOf(type, previous);
        const list = previous.slice();
        for (const k of change.upserted) {
          const i = at.get(k);
          const record = byKey.get(k);
          if (i === undefined || record === undefined) throw new Error(`${type} "${k}" is not held`);
          list[i] = record;
        }
        positions.set(list, at);
        setList(state, type, list);
        continue;
      }
    }
    if (!byKey) continue;
    setList(
      state,
      type,
      [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r),
    );
  }
  return state;
}

export function isMeshResourceType(t: string): t is MeshResourceType {
  return (MESH_RESOURCE_TYPES as readonly string[]).includes(t);
}
