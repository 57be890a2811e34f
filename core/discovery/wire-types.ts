// TypeScript shapes of the proto messages as @grpc/proto-loader presents them (camelCase fields,
// defaults filled). Only the discovery client, the controller and the CA code see these.
export interface WireSubscriber {
  kind: string;
  node: string;
  name: string;
}

export interface DiscoveryRequest {
  subscriber?: WireSubscriber | null;
  responseNonce: string;
  versionInfo: string;
  errorDetail: string;
}

export interface WireResource {
  type: string;
  key: string;
  value: Buffer;
}

export interface WireResourceKey {
  type: string;
  key: string;
}

export interface DiscoveryResponse {
  versionInfo: string;
  nonce: string;
  full: boolean;
  resources: WireResource[];
  removed: WireResourceKey[];
  trustDomain: string;
}

export interface WireSubscriberStatus {
  subscriber: WireSubscriber;
  peer: string;
  connectedAt: string;
  lastSentVersion: string;
  lastAckedVersion: string;
  lastNackVersion: string;
  lastNackError: string;
  lastAckAt: string;
  connected: boolean;
  disconnectedAt: string;
  lastNackAt: string;
}

export interface WireConfigError {
  file: string;
  document: number;
  resource: string;
  field: string;
  message: string;
}

export interface StatusResponse {
  configVersion: string;
  configSource: string;
  trustDomain: string;
  lastRejectedAt: string;
  lastRejectedErrors: WireConfigError[];
  subscribers: WireSubscriberStatus[];
  resourceStatus: Buffer;
  /** One per watched kind (Kubernetes store); empty otherwise (and from older controllers). */
  watches: WireWatchStatus[];
  /** Kubernetes store: the Lease holder; absent from the directory store and older controllers. */
  leader?: WireLeaderStatus | null;
}

export interface WireLeaderStatus {
  holder: string;
  thisReplica: boolean;
  identity: string;
}

export interface WireWatchStatus {
  kind: string;
  state: string;
  objects: number;
  resourceVersion: string;
  lastEventAt: string;
  restarts: number;
  lastRestartReason: string;
  lastError: string;
  relists: number;
  lastRelistAt: string;
}

export interface ConfigDumpResponse {
  configVersion: string;
  meshState: Buffer;
}

/** google.protobuf.Struct as proto-loader presents it (only string values are used here). */
export interface WireStruct {
  fields: Record<string, { stringValue?: string; kind?: string }>;
}

export interface IstioCertificateRequest {
  csr: string;
  validityDuration: number;
  metadata?: WireStruct | null | undefined;
}

export interface IstioCertificateResponse {
  certChain: string[];
}
