// The delta between two views: records to upsert (new or changed) and keys to remove. Pure.
import type { ResourceView } from './mesh-resources.js';

export interface ViewDelta {
  upserts: string[];
  removals: string[];
}

export function diffViews(from: ResourceView, to: ResourceView): ViewDelta {
  const upserts: string[] = [];
  const removals: string[] = [];
  for (const [k, v] of to) if (from.get(k) !== v) upserts.push(k);
  for (const k of from.keys()) if (!to.has(k)) removals.push(k);
  return { upserts, removals };
}
