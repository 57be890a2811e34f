import { describe, expect, it } from 'vitest';
import { MESH_RESOURCE_TYPES, ROOT_NAMESPACE } from './mesh.js';

describe('mesh resource types', () => {
  it('names every wire resource type once', () => {
    expect(new Set(MESH_RESOURCE_TYPES).size).toBe(MESH_RESOURCE_TYPES.length);
    expect(ROOT_NAMESPACE).toBe('ambit-system');
  });
});
