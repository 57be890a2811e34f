// Client of the controller's inspection RPCs (Status, ConfigDump) for the CLI: authenticates with
// the join token from the state dir over server-authenticated TLS.
import * as grpc from '@grpc/grpc-js';
import { discoveryError } from './errors.js';
import type { MeshState } from '../model/mesh.js';
import { operatorCall } from '../identity/operator-call.js';
import { meshProtos, type DiscoveryRpcs } from './proto.js';
import type { StatusResponse } from './wire-types.js';

const TIMEOUT_MS = 10_000;

function call<M extends keyof DiscoveryRpcs>(
  o: { controller: string; stateDir: string },
  method: M,
): Promise<DiscoveryRpcs[M]['response']> {
  return operatorCall<DiscoveryRpcs, M>(o, meshProtos().discovery, method, {}, TIMEOUT_MS, (err) => {
    if (!err) return discoveryError('CLI_CONTROLLER_REFUSED', `${method} at ${o.controller}: empty response`);
    const unreachable = err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED;
    return discoveryError(
      unreachable ? 'CLI_CONTROLLER_UNREACHABLE' : 'CLI_CONTROLLER_REFUSED',
      `${method} at ${o.controller}: ${err.details || err.message}`,
      err,
    );
  });
}

export function fetchStatus(o: { controller: string; stateDir: string }): Promise<StatusResponse> {
  return call(o, 'Status');
}

export async function fetchConfigDump(o: {
  controller: string;
  stateDir: string;
}): Promise<{ version: string; state: MeshState }> {
  const res = await call(o, 'ConfigDump');
  return { version: res.configVersion, state: JSON.parse(res.meshState.toString('utf8')) as MeshState };
}
