// How a component reaches the controller (DESIGN.md §2, bootstrap contract): the state dir holds
// root-cert.pem (trust root) and join-token; the controller's serving certificate carries the DNS
// SAN `ambit-controller`, which clients verify through grpc.ssl_target_name_override. Builds the
// gRPC channel credentials and options used by the CA and discovery clients.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { identityError } from './errors.js';
import type { IssuedCertificate } from './issued-certificate.js';

export const ROOT_CERT_FILE = 'root-cert.pem';
export const JOIN_TOKEN_FILE = 'join-token';
export const CONTROLLER_SERVER_NAME = 'ambit-controller';
export const CONTROLLER_SERVICE_ACCOUNT = 'ambit-controller';
/** Snapshots of a large mesh exceed gRPC's 4 MiB default. */
export const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

export function readRootCert(stateDir: string): string {
  const file = path.join(stateDir, ROOT_CERT_FILE);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw identityError('ID_NO_ROOT_CERT', `cannot read the trust root ${file}`, err);
  }
}

export function readJoinToken(stateDir: string): string {
  const file = path.join(stateDir, JOIN_TOKEN_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw identityError('ID_NO_JOIN_TOKEN', `cannot read the join token ${file}`, err);
  }
}

/**
 * The bootstrap credential a node or waypoint presents: the scoped token in `tokenFile`
 * (`ambit token create`, DESIGN.md §2) when given, else the state dir's join-token (the operator's
 * admin credential).
 */
export function readBootstrapToken(stateDir: string, tokenFile?: string): string {
  if (tokenFile === undefined) return readJoinToken(stateDir);
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    throw identityError('ID_NO_TOKEN_FILE', `cannot read the token file ${tokenFile}`, err);
  }
  if (!token) throw identityError('ID_NO_TOKEN_FILE', `the token file ${tokenFile} is empty`);
  return token;
}

export function controllerChannelOptions(): grpc.ChannelOptions {
  return {
    'grpc.ssl_target_name_override': CONTROLLER_SERVER_NAME,
    'grpc.default_authority': CONTROLLER_SERVER_NAME,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2_000,
  };
}

/** TLS to the controller; with a certificate for mTLS, else server-authenticated only (join-token calls). */
export function controllerChannelCredentials(
  rootPem: string,
  cert?: IssuedCertificate,
): grpc.ChannelCredentials {
  if (!cert) return grpc.credentials.createSsl(Buffer.from(rootPem));
  return grpc.credentials.createSsl(
    Buffer.from(rootPem),
    Buffer.from(cert.keyPem),
    // the chain without its root; a chain of one (the leaf alone) is sent whole
    Buffer.from(cert.certChainPem.slice(0, -1).join('') || cert.certChainPem.join('')),
  );
}

export function bearerMetadata(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}
