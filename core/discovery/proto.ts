// Loads the .proto files in proto/ (discovery, bootstrap tokens and the Istio-shaped CA) once, for both the
// controller's server and the clients. Finds proto/ by walking up from this file, so it works
// from the sources (vitest) and from dist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type {
  CreateTokenRequest,
  CreateTokenResponse,
  ListTokensResponse,
  RevokeTokenRequest,
  RevokeTokenResponse,
} from '../identity/token-wire.js';
import type {
  ConfigDumpResponse,
  DiscoveryRequest,
  DiscoveryResponse,
  IstioCertificateRequest,
  IstioCertificateResponse,
  StatusResponse,
} from './wire-types.js';

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

/** A unary method of a proto-loader client, in grpc-js's callback form. */
export type UnaryMethod<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

/** One unary RPC: what it takes and what it answers. */
export interface Rpc<Req, Res> {
  request: Req;
  response: Res;
}

/** A service's unary methods, typed from a table of its RPCs. */
export type UnaryMethods<R extends { [K in keyof R]: Rpc<unknown, unknown> }> = {
  [M in keyof R]: UnaryMethod<R[M]['request'], R[M]['response']>;
};

/** The unary (inspection) RPCs of ambit.discovery.v1.AmbitDiscovery; both take an empty request. */
export interface DiscoveryRpcs {
  Status: Rpc<Record<string, never>, StatusResponse>;
  ConfigDump: Rpc<Record<string, never>, ConfigDumpResponse>;
}

/** ambit.discovery.v1.AmbitDiscovery as a client sees it (proto/ambit/discovery.proto). */
export type DiscoveryServiceClient = grpc.Client &
  UnaryMethods<DiscoveryRpcs> & {
    Stream(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  };

/** istio.v1.auth.IstioCertificateService (proto/istio/ca.proto). */
export type CaServiceClient = grpc.Client &
  UnaryMethods<{ CreateCertificate: Rpc<IstioCertificateRequest, IstioCertificateResponse> }>;

/** ambit.token.v1.AmbitTokens (proto/ambit/token.proto). */
export interface TokenRpcs {
  Create: Rpc<CreateTokenRequest, CreateTokenResponse>;
  List: Rpc<Record<string, never>, ListTokensResponse>;
  Revoke: Rpc<RevokeTokenRequest, RevokeTokenResponse>;
}

export type TokenServiceClient = grpc.Client & UnaryMethods<TokenRpcs>;

/** grpc.ServiceClientConstructor with the methods of its service typed. */
export interface TypedServiceClientConstructor<C extends grpc.Client> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): C;
  service: grpc.ServiceDefinition;
  serviceName: string;
}

export interface MeshProtos {
  discovery: TypedServiceClientConstructor<DiscoveryServiceClient>;
  ca: TypedServiceClientConstructor<CaServiceClient>;
  tokens: TypedServiceClientConstructor<TokenServiceClient>;
  /** Method definitions, for custom (pre-encoded) serialisation of pushes. */
  discoveryDefinition: protoLoader.ServiceDefinition;
}

/**
 * The client constructor proto-loader made for `service` (a dotted name), checked to be a
 * service with every method the typed client `C` declares. proto-loader's objects are
 * untyped (grpc.GrpcObject), so this is the one place their shape is asserted: the cast below is
 * the library boundary, made only after the check.
 */
export function serviceClient<C extends grpc.Client>(
  pkg: grpc.GrpcObject,
  service: string,
  methods: readonly (keyof C & string)[],
): TypedServiceClientConstructor<C> {
  let node: grpc.GrpcObject[string] | undefined = pkg;
  for (const part of service.split('.')) {
    node = node && typeof node === 'object' && !('format' in node) ? node[part] : undefined;
  }
  if (typeof node !== 'function' || !('service' in node)) {
    throw new Error(`proto/: no service ${service}`);
  }
  const missing = methods.filter((m) => !(m in node.service));
  if (missing.length > 0) throw new Error(`proto/: service ${service} lacks ${missing.join(', ')}`);
  return node as unknown as TypedServiceClientConstructor<C>;
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
  const pkg = grpc.loadPackageDefinition(def);
  loaded = {
    discovery: serviceClient<DiscoveryServiceClient>(pkg, 'ambit.discovery.v1.AmbitDiscovery', [
      'Stream',
      'Status',
      'ConfigDump',
    ]),
    ca: serviceClient<CaServiceClient>(pkg, 'istio.v1.auth.IstioCertificateService', ['CreateCertificate']),
    tokens: serviceClient<TokenServiceClient>(pkg, 'ambit.token.v1.AmbitTokens', [
      'Create',
      'List',
      'Revoke',
    ]),
    discoveryDefinition: def['ambit.discovery.v1.AmbitDiscovery'] as protoLoader.ServiceDefinition,
  };
  return loaded;
}
