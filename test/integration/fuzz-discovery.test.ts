// Fuzzing discovery records (issue 11 item 3): a stand-in controller pushes, over the real gRPC
// stream, deltas whose records are mutated, mistyped, mis-keyed, not JSON or of unknown types to
// a real DiscoveryClient whose onState runs the ztunnel's and the waypoint's snapshot conversions.
// The invariant: no crash, a NACK naming the record type and key, and the state the client holds
// unchanged - checked both as the object it exposes and by rebuilding every type from the
// records it kept (the undo log of a rejected delta).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoveryClient } from '../../core/discovery/client.js';
import { encodeMeshState, splitViewKey } from '../../core/discovery/mesh-resources.js';
import type { WireResource } from '../../core/discovery/wire-types.js';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import { MESH_RESOURCE_TYPES, type MeshState } from '../../core/model/mesh.js';
import { validateConfig } from '../../core/model/validate-config.js';
import { buildSnapshot } from '../../ztunnel/state/ztunnel-snapshot.js';
import { buildWaypointSnapshot } from '../../waypoint/state/waypoint-snapshot.js';
import { startFuzzDiscoveryServer, type FuzzDiscoveryServer } from '../support/fuzz-discovery-server.js';
import { VALID_MANIFESTS_YAML } from '../support/fuzz-config-corpus.js';
import { fuzzAssertAsync, hostileValue, mutated, type Json } from '../support/fuzz-mutate.js';

const TRUST_DOMAIN = 'cluster.local';

/** The corpus config as the controller computes and encodes it: the valid records to mutate. */
function validRecords(): WireResource[] {
  const v = validateConfig([{ path: 'mesh.yaml', text: VALID_MANIFESTS_YAML }]);
  if (!v.valid) throw new Error('the fuzz corpus must be valid');
  const { view } = encodeMeshState(computeMeshState(v.result, TRUST_DOMAIN));
  return [...view].map(([k, json]) => ({ ...splitViewKey(k), value: Buffer.from(json) }));
}

const RECORDS = validRecords();
const TYPES_HELD = [...new Set(RECORDS.map((r) => r.type))];

/** One bad (or, by chance, still valid) resource to push as a delta. */
const badResource: fc.Arbitrary<{ why: string; resource: WireResource }> = fc
  .nat({ max: RECORDS.length - 1 })
  .chain((i) => {
    const base = RECORDS[i] ?? { type: 'node', key: 'x', value: Buffer.from('{}') };
    const json = JSON.parse(base.value.toString()) as Json;
    return fc.oneof(
      {
        weight: 6,
        arbitrary: mutated(json).map(({ value }) => ({
          why: 'mutated record',
          resource: { ...base, value: Buffer.from(JSON.stringify(value)) },
        })),
      },
      hostileValue.map((v) => ({
        why: 'record replaced by a hostile value',
        resource: { ...base, value: Buffer.from(JSON.stringify(v)) },
      })),
      fc.uint8Array({ maxLength: 64 }).map((b) => ({
        why: 'random bytes',
        resource: { ...base, value: Buffer.from(b) },
      })),
      fc.nat({ max: base.value.length }).map((n) => ({
        why: 'truncated JSON',
        resource: { ...base, value: base.value.subarray(0, n) },
      })),
      fc.string({ maxLength: 20 }).map((k) => ({
        why: 'record under another key',
        resource: { ...base, key: k === base.key ? `${k}-other` : k },
      })),
      fc.constantFrom('', 'Workload', 'pod', 'node ', '__proto__', 'workloads').map((t) => ({
        why: 'unknown type',
        resource: { ...base, type: t },
      })),
    );
  });

describe('fuzz: discovery records pushed to a DiscoveryClient', () => {
  let server: FuzzDiscoveryServer;
  let client: DiscoveryClient;
  const conversionNacks: string[] = [];

  beforeAll(async () => {
    server = await startFuzzDiscoveryServer(TRUST_DOMAIN);
    client = new DiscoveryClient({
      controller: server.address,
      stateDir: server.stateDir,
      subscriber: { kind: 'ztunnel', node: 'n1' },
      credentials: () => server.clientCertificate,
      // what the ztunnel and the waypoint do with a state: their conversions throw -> NACK
      onState: (state, version) => {
        buildSnapshot(state, version);
        buildWaypointSnapshot(state, version, 'shop/waypoint');
      },
    });
    const started = client.start();
    await server.subscribed();
    const ack = await server.push({
      versionInfo: 'good-1',
      full: true,
      resources: RECORDS,
      removed: [],
      trustDomain: TRUST_DOMAIN,
    });
    expect(ack.errorDetail).toBe('');
    await started;
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  /** A structural no-op delta: every type is rebuilt from the records the client holds. */
  async function rebuildAll(version: string): Promise<MeshState> {
    const ack = await server.push({
      versionInfo: version,
      full: false,
      resources: [],
      removed: MESH_RESOURCE_TYPES.map((type) => ({ type, key: '\0no-such-key' })),
      trustDomain: TRUST_DOMAIN,
    });
    expect(ack.errorDetail).toBe('');
    const now = client.current();
    if (!now) throw new Error('the client lost its state');
    return now.state;
  }

  it('NACKs every bad record by type and key and keeps the state it held', async () => {
    expect(TYPES_HELD.length).toBeGreaterThanOrEqual(6);
    const good = client.current();
    if (!good) throw new Error('no first state');
    const goodJson = JSON.stringify(good.state);
    let n = 0;
    let nacked = 0;
    let acked = 0;
    await fuzzAssertAsync(
      'discovery: bad records in deltas (DiscoveryClient over gRPC)',
      fc.tuple(fc.array(badResource, { minLength: 1, maxLength: 3 }), fc.boolean()),
      async ([bad, withGoodToo]) => {
        const before = client.current();
        if (!before) throw new Error('the client lost its state');
        const version = `fuzz-${++n}`;
        // a good record in the same delta must be rolled back with the bad one
        const resources = [...(withGoodToo ? RECORDS.slice(0, 1) : []), ...bad.map((b) => b.resource)];
        const answer = await server.push({
          versionInfo: version,
          full: false,
          resources,
          removed: [],
          trustDomain: TRUST_DOMAIN,
        });
        if (answer.errorDetail !== '') {
          nacked++;
          const after = client.current();
          expect(after?.state).toBe(before.state);
          expect(after?.version).toBe(before.version);
          expect(answer.versionInfo).toBe(before.version);
          const named = bad.some(
            ({ resource: r }) =>
              answer.errorDetail.includes(`"${r.type}"`) ||
              answer.errorDetail.includes(`${r.type} "${r.key}"`),
          );
          if (!named) conversionNacks.push(answer.errorDetail);
          // nothing of the rejected delta survives in the records: rebuilt, every type is as before
          expect(JSON.stringify(await rebuildAll(`${version}-rebuilt`))).toBe(JSON.stringify(before.state));
        } else {
          // still valid after the mutation: accepted, and the conversions ran on it. Go back to
          // the good state with a full push so the next input starts from it.
          acked++;
          const back = await server.push({
            versionInfo: `${version}-restore`,
            full: true,
            resources: RECORDS,
            removed: [],
            trustDomain: TRUST_DOMAIN,
          });
          expect(back.errorDetail).toBe('');
          expect(JSON.stringify(client.current()?.state)).toBe(goodJson);
        }
      },
      { seed: 0xd15c0, numRuns: 1_200 },
    );
    console.log(
      `[fuzz] discovery: ${nacked} NACKed, ${acked} accepted (still valid), ` +
        `${conversionNacks.length} NACKed by a snapshot conversion rather than the decoder`,
    );
    expect(nacked).toBeGreaterThan(0);
    // a NACK that names no pushed record came from a conversion: shown, so none hides
    for (const d of conversionNacks.slice(0, 5)) console.log(`[fuzz] discovery: conversion NACK: ${d}`);
    expect(JSON.stringify(client.current()?.state)).toBe(goodJson);
  });
});
