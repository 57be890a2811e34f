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
import { meshProtos } from './proto.js';
import type { ConfigDumpResponse, StatusResponse } from './wire-types.js';

const TIMEOUT_MS = 10_000;

type Unary<Res> = (
  req: object,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r?: Res) => void,
) => void;

async function call<Res>(
  o: { controller: string; stateDir: string },
  method: 'Status' | 'ConfigDump',
): Promise<Res> {
  const client = new (meshProtos().discovery)(
    o.controller,
    controllerChannelCredentials(readRootCert(o.stateDir)),
    controllerChannelOptions(),
  );
  try {
    return await new Promise<Res>((resolve, reject) => {
      const fn = (client as unknown as Record<string, Unary<Res>>)[method]!.bind(client);
      fn({}, bearerMetadata(readJoinToken(o.stateDir)), { deadline: Date.now() + TIMEOUT_MS }, (err, res) => {
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
        } else resolve(res!);
      });
    });
  } finally {
    client.close();
  }
}

export function fetchStatus(o: { controller: string; stateDir: string }): Promise<StatusResponse> {
  return call<StatusResponse>(o, 'Status');
}

export async function fetchConfigDump(o: {
  controller: string;
  stateDir: string;
}): Promise<{ version: string; state: MeshState }> {
  const res = await call<ConfigDumpResponse>(o, 'ConfigDump');
  return { version: res.configVersion, state: JSON.parse(res.meshState.toString('utf8')) as MeshState };
}
