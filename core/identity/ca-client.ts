// Client of the controller's CA (IstioCertificateService/CreateCertificate). A node proves itself
// with its scoped token (--token-file) or the operator's join token and gets its node identity;
// with that certificate (mTLS) it asks for the identities of pods on its node. A waypoint
// bootstraps its own identity the same way.
// Keys are made here and never leave the process.
import * as grpc from '@grpc/grpc-js';
import { identityError } from './errors.js';
import { meshProtos, type CaServiceClient } from '../discovery/proto.js';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../discovery/wire-types.js';
import { createCsr } from './csr.js';
import { generateKey, algorithmsFor, type GeneratedKey } from './keys.js';
import { x509 } from './x509.js';
import { issuedCertificateFromChain, type IssuedCertificate } from './issued-certificate.js';
import {
  bearerMetadata,
  controllerChannelCredentials,
  controllerChannelOptions,
  readBootstrapToken,
  readRootCert,
} from './controller-endpoint.js';

/** Metadata keys of IstioCertificateRequest.metadata understood by the Ambit CA. */
export const CA_METADATA = {
  impersonatedIdentity: 'ImpersonatedIdentity',
  nodeName: 'NodeName',
  waypointFor: 'WaypointFor',
} as const;

const CALL_TIMEOUT_MS = 15_000;

function newCaClient(controller: string, creds: grpc.ChannelCredentials): CaServiceClient {
  return new (meshProtos().ca)(controller, creds, controllerChannelOptions());
}

/** A CSR without SAN: the CA takes the identity from the caller's authorization (join token). */
async function bareCsr(key: GeneratedKey): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: key.keys,
    signingAlgorithm: algorithmsFor(key.type).sign,
  });
  return csr.toString('pem');
}

function createCertificate(
  client: CaServiceClient,
  req: IstioCertificateRequest,
  md: grpc.Metadata,
): Promise<IstioCertificateResponse> {
  return new Promise((resolve, reject) => {
    client.CreateCertificate(req, md, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, res) => {
      if (err) {
        const code =
          err.code === grpc.status.PERMISSION_DENIED ? 'CA_PERMISSION_DENIED' : 'CA_REQUEST_FAILED';
        reject(identityError(code, `certificate request refused: ${err.details || err.message}`, err));
      } else if (res === undefined) {
        reject(identityError('CA_BAD_RESPONSE', 'the CA answered without a certificate response'));
      } else resolve(res);
    });
  });
}

function metadataStruct(fields: Record<string, string | undefined>): IstioCertificateRequest['metadata'] {
  const out: Record<string, { stringValue: string }> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = { stringValue: v };
  return { fields: out };
}

function ttlSeconds(ttlMs?: number): number {
  return ttlMs === undefined ? 0 : Math.ceil(ttlMs / 1000);
}

async function bootstrapWithToken(
  o: { controller: string; stateDir: string; tokenFile?: string | undefined; ttlMs?: number },
  meta: Record<string, string>,
): Promise<IssuedCertificate> {
  const rootPem = readRootCert(o.stateDir);
  const token = readBootstrapToken(o.stateDir, o.tokenFile);
  const key = await generateKey();
  const client = newCaClient(o.controller, controllerChannelCredentials(rootPem));
  try {
    const res = await createCertificate(
      client,
      { csr: await bareCsr(key), validityDuration: ttlSeconds(o.ttlMs), metadata: metadataStruct(meta) },
      bearerMetadata(token),
    );
    return issuedCertificateFromChain(key.privateKeyPem, res.certChain);
  } finally {
    client.close();
  }
}

/** Node identity spiffe://<td>/ambit/node/<node>, proven with the token file or the join token. */
export function bootstrapNodeIdentity(o: {
  controller: string;
  stateDir: string;
  /** A scoped token (`ambit token create --node`); default: the state dir's join-token. */
  tokenFile?: string | undefined;
  node: string;
  ttlMs?: number;
}): Promise<IssuedCertificate> {
  return bootstrapWithToken(o, { [CA_METADATA.nodeName]: o.node });
}

/** A waypoint's own identity (its Gateway's pods' service account), proven with its token. */
export function bootstrapWaypointIdentity(o: {
  controller: string;
  stateDir: string;
  tokenFile?: string | undefined;
  /** <namespace>/<gateway> */
  waypoint: string;
  ttlMs?: number;
}): Promise<IssuedCertificate> {
  return bootstrapWithToken(o, { [CA_METADATA.waypointFor]: o.waypoint });
}

export class CaClient {
  private client: CaServiceClient | undefined;
  private clientCert: IssuedCertificate | undefined;
  private readonly rootPem: string;

  constructor(
    private readonly o: { controller: string; stateDir: string; credentials: () => IssuedCertificate },
  ) {
    this.rootPem = readRootCert(o.stateDir);
  }

  /** One channel per presented certificate: a rotated credential opens a new channel. */
  private channel(): CaServiceClient {
    const cert = this.o.credentials();
    if (!this.client || this.clientCert !== cert) {
      this.client?.close();
      this.client = newCaClient(this.o.controller, controllerChannelCredentials(this.rootPem, cert));
      this.clientCert = cert;
    }
    return this.client;
  }

  async requestCertificate(identity: string, ttlMs?: number): Promise<IssuedCertificate> {
    const key = await generateKey();
    const res = await createCertificate(
      this.channel(),
      {
        csr: await createCsr(key, identity),
        validityDuration: ttlSeconds(ttlMs),
        metadata: metadataStruct({ [CA_METADATA.impersonatedIdentity]: identity }),
      },
      new grpc.Metadata(),
    );
    const cert = issuedCertificateFromChain(key.privateKeyPem, res.certChain);
    if (cert.identity !== identity) {
      throw identityError('CA_WRONG_IDENTITY', `asked for ${identity}, the CA issued ${cert.identity}`);
    }
    return cert;
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}
