// The --state-file source: a whole MeshState from a file reaches the agent as it is, and a file
// written before agent views carried mesh destinations gets an empty list of them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyMeshState, type MeshState } from '../core/model/mesh.js';
import { stateFileSource } from './state-file-source.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function firstState(content: string): Promise<MeshState[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ambit-state-file-'));
  dirs.push(dir);
  const file = path.join(dir, 'state.json');
  writeFileSync(file, content);
  const seen: MeshState[] = [];
  const source = stateFileSource(file, async (s) => {
    seen.push(s);
  });
  await source.start();
  await source.close();
  return seen;
}

describe('stateFileSource', () => {
  it('hands the file’s state over as it is', async () => {
    const state: MeshState = {
      ...emptyMeshState('cluster.local'),
      meshDestinations: [{ uid: 'u1', ips: ['10.0.0.1'] }],
    };
    expect(await firstState(JSON.stringify(state))).toEqual([state]);
  });

  it('fills in the mesh destinations a file from before them lacks', async () => {
    const { meshDestinations, ...old } = emptyMeshState('cluster.local');
    expect(meshDestinations).toEqual([]);
    expect(await firstState(JSON.stringify(old))).toEqual([emptyMeshState('cluster.local')]);
  });

  it('skips a half-written file', async () => {
    expect(await firstState('{"trustDomain":')).toEqual([]);
  });
});
