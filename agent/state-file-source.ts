// A mesh-state source that reads a JSON MeshState file and re-reads it when it changes (polled
// every 100 ms). For kernel tests and debugging without a controller (`ambit agent
// --state-file`); the real source is the discovery client.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { MeshState } from '../core/model/mesh.js';

export interface MeshStateSource {
  start(): Promise<void>;
  close(): Promise<void>;
}

export function stateFileSource(file: string, onState: (s: MeshState) => Promise<void>): MeshStateSource {
  let last = '';
  const load = async (): Promise<void> => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // being replaced: the next poll sees the new file
    }
    if (text === last) return;
    let state: MeshState;
    try {
      // A file written before agent views carried mesh destinations has none (all its workloads
      // are there in full, which reconcile reads the same way).
      const parsed = JSON.parse(text) as Omit<MeshState, 'meshDestinations'> &
        Partial<Pick<MeshState, 'meshDestinations'>>;
      state = { ...parsed, meshDestinations: parsed.meshDestinations ?? [] };
    } catch {
      return; // half-written
    }
    last = text;
    await onState(state);
  };
  return {
    async start() {
      await load();
      watchFile(file, { interval: 100 }, () => {
        load().catch(() => undefined);
      });
    },
    async close() {
      unwatchFile(file);
    },
  };
}
