// Which fields of a waypoint object the controller owns, how to tell whether they drifted, and the
// body that puts them back on top of the live object. Pure. The API server fills defaults into
// what we write (a container's terminationMessagePath, a Service's clusterIP, a probe's
// timeoutSeconds...), so "drifted" means a value we set is missing or different, never that the
// live object has more; and an update starts from the live object so that allocated fields
// (clusterIP) and fields others own (an SA's imagePullSecrets, annotations) survive.
import type { OwnedObject, WaypointObjectKind } from './waypoint-objects.js';

type Mode = 'replace' | 'merge';
interface OwnedField {
  path: readonly string[];
  /** replace: our value wholesale; merge: our keys over the live map's (maps only). */
  mode: Mode;
}

/** Beyond metadata.labels (merged) and metadata.ownerReferences (replaced), for every kind. */
const OWNED: Record<WaypointObjectKind, readonly OwnedField[]> = {
  ServiceAccount: [],
  ConfigMap: [{ path: ['data'], mode: 'merge' }],
  Deployment: [
    { path: ['spec', 'replicas'], mode: 'replace' },
    { path: ['spec', 'selector'], mode: 'replace' },
    { path: ['spec', 'strategy'], mode: 'replace' },
    // labels merged: kubectl rollout restart's annotation and others' labels stay
    { path: ['spec', 'template', 'metadata', 'labels'], mode: 'merge' },
    { path: ['spec', 'template', 'spec'], mode: 'replace' },
  ],
  Service: [
    { path: ['spec', 'type'], mode: 'replace' },
    { path: ['spec', 'selector'], mode: 'replace' },
    { path: ['spec', 'ports'], mode: 'replace' },
  ],
  // minAvailable and maxUnavailable exclude each other: the whole spec is ours
  PodDisruptionBudget: [{ path: ['spec'], mode: 'replace' }],
};

const METADATA_FIELDS: readonly OwnedField[] = [
  { path: ['metadata', 'labels'], mode: 'merge' },
  { path: ['metadata', 'ownerReferences'], mode: 'replace' },
];

function fieldsOf(kind: WaypointObjectKind): readonly OwnedField[] {
  return [...METADATA_FIELDS, ...OWNED[kind]];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const k of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/**
 * Whether `have` carries every value of `want`: maps may have more keys, arrays must have the same
 * length and match element by element, scalars must be equal.
 */
export function containsAll(want: unknown, have: unknown): boolean {
  if (want === undefined) return true;
  if (Array.isArray(want)) {
    return (
      Array.isArray(have) && have.length === want.length && want.every((w, i) => containsAll(w, have[i]))
    );
  }
  if (isRecord(want)) {
    return isRecord(have) && Object.entries(want).every(([k, w]) => containsAll(w, have[k]));
  }
  return want === have;
}

/** The owned fields (dotted paths) whose live value lacks or differs from ours; empty = in sync. */
export function driftOf(desired: OwnedObject, live: unknown): string[] {
  return fieldsOf(desired.kind)
    .filter((f) => !containsAll(at(desired, f.path), at(live, f.path)))
    .map((f) => f.path.join('.'));
}

function setAt(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  path.slice(0, -1).forEach((k) => {
    const next = cur[k];
    if (isRecord(next)) cur = next;
    else {
      const made: Record<string, unknown> = {};
      cur[k] = made;
      cur = made;
    }
  });
  const last = path[path.length - 1];
  if (last !== undefined) cur[last] = value;
}

/**
 * The body of an update (PUT): the live object, with its resourceVersion for optimistic
 * concurrency, and our owned fields put back on it.
 */
export function withOwnedFields(
  desired: OwnedObject,
  live: Record<string, unknown>,
): Record<string, unknown> {
  const out = structuredClone(live);
  delete out.status;
  for (const f of fieldsOf(desired.kind)) {
    const want = structuredClone(at(desired, f.path));
    if (want === undefined) continue;
    const have = at(out, f.path);
    setAt(out, f.path, f.mode === 'merge' && isRecord(want) && isRecord(have) ? { ...have, ...want } : want);
  }
  return out;
}
