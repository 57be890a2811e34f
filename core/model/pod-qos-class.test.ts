// A pod's status.qosClass reaches the agent: the model accepts the three classes and refuses
// others, the computed workload carries it (absent when the pod has none), and the discovery
// decoder keeps it. The agent derives the pod's cgroup directory from it and the UID.
import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../discovery/record-decoders.js';
import { formatConfigError } from './config-error.js';
import { computeMeshState } from './compute-mesh-state.js';
import { validateConfig } from './validate-config.js';

const pod = (name: string, qosClass?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', uid: `0f3a9c1e-7b2d-4e5f-9a8b-1c2d3e4f5a6${name.length}` },
  spec: { nodeName: 'n1', containers: [{ name: 'main' }] },
  status: { podIP: '10.0.0.1', ...(qosClass ? { qosClass } : {}) },
});

const base = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.0.1' }] },
  },
];

function validate(...docs: object[]) {
  const text = [...base, ...docs].map((d) => JSON.stringify(d)).join('\n---\n');
  return validateConfig([{ path: 't.yaml', text }]);
}

describe('pod QoS class', () => {
  it('is carried into the workload record, and left out when the pod has none', () => {
    const r = validate(pod('a', 'Burstable'), pod('bb'));
    if (!r.valid) throw new Error(r.errors.map(formatConfigError).join('\n'));
    const state = computeMeshState(r.result, 'cluster.local');
    const a = state.workloads.find((w) => w.name === 'a');
    expect(a?.qosClass).toBe('Burstable');
    expect(state.workloads.find((w) => w.name === 'bb')).not.toHaveProperty('qosClass');
    const decoded = decodeRecord('workload', a?.uid ?? '', JSON.stringify(a));
    expect(decoded).toMatchObject({ valid: true, record: { qosClass: 'Burstable' } });
  });

  it('refuses a class Kubernetes does not have, naming the field', () => {
    const r = validate(pod('a', 'Premium'));
    expect(r.valid).toBe(false);
    if (!r.valid) expect(r.errors.map(formatConfigError).join('\n')).toMatch(/status\.qosClass/);
  });
});
