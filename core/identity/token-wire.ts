// Wire shapes of ambit.token.v1.AmbitTokens (proto/ambit/token.proto) as @grpc/proto-loader
// decodes them (camelCase, defaults filled), shared by the controller's service and the CLI client.

export interface WireTokenScope {
  node: string;
  waypoint: string;
}

export interface WireTokenInfo {
  id: string;
  scope: WireTokenScope;
  createdAt: string;
  expiresAt: string;
  revokedAt: string;
}

export interface CreateTokenRequest {
  scope: WireTokenScope;
  ttlSeconds: number;
}

export interface CreateTokenResponse {
  token: string;
  info: WireTokenInfo;
}

export interface ListTokensResponse {
  tokens: WireTokenInfo[];
}

export interface RevokeTokenRequest {
  id: string;
}

export interface RevokeTokenResponse {
  info: WireTokenInfo;
}
