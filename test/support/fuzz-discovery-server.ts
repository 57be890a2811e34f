// A stand-in controller for the discovery fuzz suite: the AmbitDiscovery/Stream service over
// mutual TLS on loopback, serving certificates made by a CA made here, that pushes whatever the
// test hands it - malformed records included, which the real controller never sends - and hands
// back the subscriber's answer (ACK or NACK) to each push. Written from the proto alone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import {
  CONTROLLER_SERVER_NAME,
  CONTROLLER_SERVICE_ACCOUNT,
  ROOT_CERT_FILE,
} from '../../core/identity/controller-endpoint.js';
import { createCsr } from '../../core/identity/csr.js';
import { generateKey } from '../../core/identity/keys.js';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';
import { nodeIdentity, workloadIdentity } from '../../core/identity/spiffe.js';
import { meshProtos } from '../../core/discovery/proto.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../core/discovery/wire-types.js';
import { issue } from './in-process-control-plane.js';

/** A subscriber that has not answered a push by then is stuck (a failure, not a slow machine). */
const ANSWER_TIMEOUT_MS = 10_000;

type StreamCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export interface FuzzDiscoveryServer {
  address: string;
  /** Holds root-cert.pem, as a subscriber's --state-dir does. */
  stateDir: string;
  /** A node certificate for the subscriber (its mTLS client certificate). */
  clientCertificate: IssuedCertificate;
  /** Resolves once a subscriber opened the stream and named itself. */
  subscribed(): Promise<DiscoveryRequest>;
  /** Sends one push and resolves with the subscriber's answer to it (matched by nonce). */
  push(res: Omit<DiscoveryResponse, 'nonce'>): Promise<DiscoveryRequest>;
  stop(): Promise<void>;
}

export async function startFuzzDiscoveryServer(trustDomain = 'cluster.local'): Promise<FuzzDiscoveryServer> {
  const ca = await CertificateAuthority.generate(trustDomain);
  const key = await generateKey();
  const servingId = workloadIdentity(trustDomain, 'ambit-system', CONTROLLER_SERVICE_ACCOUNT);
  const servingPem = await ca.sign(await createCsr(key, servingId), servingId, 3_600_000, new Date(), [
    CONTROLLER_SERVER_NAME,
  ]);
  const clientCertificate = await issue(ca, nodeIdentity(trustDomain, 'n1'));
  const stateDir = mkdtempSync(path.join(tmpdir(), 'ambit-fuzz-disc-'));
  writeFileSync(path.join(stateDir, ROOT_CERT_FILE), ca.rootPem);

  let call: StreamCall | undefined;
  let first: ((r: DiscoveryRequest) => void) | undefined;
  const firstRequest = new Promise<DiscoveryRequest>((resolve) => (first = resolve));
  const waiting = new Map<string, (r: DiscoveryRequest) => void>();
  let nonce = 0;

  const server = new grpc.Server();
  const unimplemented = (_: unknown, cb: grpc.sendUnaryData<never>) =>
    cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in the fuzz stand-in' });
  server.addService(meshProtos().discovery.service, {
    Stream: (c: StreamCall) => {
      call = c;
      c.on('data', (req: DiscoveryRequest) => {
        if (req.subscriber && req.responseNonce === '') return first?.(req);
        waiting.get(req.responseNonce)?.(req);
        waiting.delete(req.responseNonce);
      });
      c.on('error', () => undefined);
    },
    Status: unimplemented,
    ConfigDump: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      grpc.ServerCredentials.createSsl(
        Buffer.from(ca.rootPem),
        [{ private_key: Buffer.from(key.privateKeyPem), cert_chain: Buffer.from(servingPem) }],
        true,
      ),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );

  return {
    address: `127.0.0.1:${port}`,
    stateDir,
    clientCertificate,
    subscribed: () => firstRequest,
    push: (res) => {
      const c = call;
      if (!c) return Promise.reject(new Error('no subscriber yet'));
      const n = String(++nonce);
      const answered = new Promise<DiscoveryRequest>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(n);
          reject(new Error(`no ACK or NACK for push ${n} within ${ANSWER_TIMEOUT_MS} ms`));
        }, ANSWER_TIMEOUT_MS);
        waiting.set(n, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
      c.write({ ...res, nonce: n });
      return answered;
    },
    stop: async () => {
      call?.end();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
