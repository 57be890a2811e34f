// Loads the .proto files in proto/ (discovery, bootstrap tokens and the Istio-shaped CA) once, for both the
// controller's server and the clients. Finds proto/ by walking up from this file, so it works
// from the sources (vitest) and from dist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

function protoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'proto', 'ambit', 'discovery.proto'))) return path.join(dir, 'proto');
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error('proto/ambit/discovery.proto not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface MeshProtos {
  discovery: grpc.ServiceClientConstructor;
  ca: grpc.ServiceClientConstructor;
  tokens: grpc.ServiceClientConstructor;
  /** Method definitions, for custom (pre-encoded) serialisation of pushes. */
  discoveryDefinition: protoLoader.ServiceDefinition;
}

let loaded: MeshProtos | undefined;

export function meshProtos(): MeshProtos {
  if (loaded) return loaded;
  const root = protoRoot();
  const def = protoLoader.loadSync(
    [
      path.join(root, 'ambit', 'discovery.proto'),
      path.join(root, 'ambit', 'token.proto'),
      path.join(root, 'istio', 'ca.proto'),
    ],
    { ...LOADER_OPTIONS, includeDirs: [root] },
  );
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    ambit: {
      discovery: { v1: { AmbitDiscovery: grpc.ServiceClientConstructor } };
      token: { v1: { AmbitTokens: grpc.ServiceClientConstructor } };
    };
    istio: { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } };
  };
  loaded = {
    discovery: pkg.ambit.discovery.v1.AmbitDiscovery,
    ca: pkg.istio.v1.auth.IstioCertificateService,
    tokens: pkg.ambit.token.v1.AmbitTokens,
    discoveryDefinition: def['ambit.discovery.v1.AmbitDiscovery'] as protoLoader.ServiceDefinition,
  };
  return loaded;
}
