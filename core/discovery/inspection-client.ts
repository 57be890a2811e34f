// Client of the controller's inspection RPCs (Status, ConfigDump) for the CLI: authenticates with
// the join token from the state dir over server-authenticated TLS.
import * as grpc from '@grpc/grpc-js';
import { discoveryError } from './errors.js';
import type { MeshState } from '../model/mesh.js';
import {
  bearerMetadata,
  controllerChannelCredentials,
  controllerChannelOptions,
  readJoinToken,
  readRootCert,
} from '../identity/controller-endpoint.js';
import { meshProtos, type DiscoveryRpcs, type UnaryMethods } from './proto.js';
import type { StatusResponse } from './wire-types.js';

const TIMEOUT_MS = 10_000;

async function call<M extends keyof DiscoveryRpcs>(
  o: { controller: string; stateDir: string },
  method: M,
): Promise<DiscoveryRpcs[M]['response']> {
  const client = new (meshProtos().discovery)(
    o.controller,
    controllerChannelCredentials(readRootCert(o.stateDir)),
    controllerChannelOptions(),
  );
  try {
    const methods: UnaryMethods<DiscoveryRpcs> = client;
    const fn = methods[method];
    return await new Promise<DiscoveryRpcs[M]['response']>((resolve, reject) => {
      fn.call(
        client,
        {},
        bearerMetadata(readJoinToken(o.stateDir)),
        { deadline: Date.now() + TIMEOUT_MS },
        (err, res) => {
          if (err) {
            const unreachable =
              err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED;
            reject(
              discoveryError(
                unreachable ? 'CLI_CONTROLLER_UNREACHABLE' : 'CLI_CONTROLLER_REFUSED',
                `${method} at ${o.controller}: ${err.details || err.message}`,
                err,
              ),
            );
          } else if (res === undefined) {
            reject(discoveryError('CLI_CONTROLLER_REFUSED', `${method} at ${o.controller}: empty response`));
          } else resolve(res);
        },
      );
    });
  } finally {
    client.close();
  }
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
