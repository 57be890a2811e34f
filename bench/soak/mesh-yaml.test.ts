// The soak's mesh through the controller's own validator and mesh-state computation: valid, with
// `web` and `rpc` behind the waypoint, the retry on /retry only, and the gRPC retry policy.
import { describe, expect, it } from 'vitest';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import { formatConfigError } from '../../core/model/config-error.js';
import { validateConfig } from '../../core/model/validate-config.js';
import { soakMeshYaml } from './mesh-yaml.js';

describe('soakMeshYaml', () => {
  it('is a valid config whose L7 Services use the waypoint, with both retries', () => {
    const m = soakMeshYaml('127.0.90', { tcp: 40001, http: 40002, grpc: 40003 });
    const v = validateConfig([{ path: 'mesh.yaml', text: m.yaml }]);
    if (!v.valid) expect.unreachable(v.errors.map(formatConfigError).join('\n'));
    const state = computeMeshState(v.result, 'cluster.local');
    const svc = (name: string) => state.services.find((s) => s.name === name);
    expect(svc('web')?.waypoint).toStrictEqual({ namespace: 'shop', name: 'wp' });
    expect(svc('rpc')?.waypoint).toStrictEqual({ namespace: 'shop', name: 'wp' });
    expect(svc('echo')?.waypoint).toBeUndefined();
    const rules = state.routes.find((r) => r.name === 'web-retry')?.rules ?? [];
    expect(rules.map((r) => r.retry?.attempts)).toStrictEqual([2, undefined]);
    expect(state.trafficPolicies.find((p) => p.name === 'rpc-retry')?.retry?.retryOn).toStrictEqual([
      'unavailable',
    ]);
  });
});
