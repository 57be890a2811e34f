// The production ControlPlane: the node identity bootstrapped with the node's scoped token
// (--token-file) or the state dir's join token (renewed the same way at half-life), workload
// certificates from the controller's CA over mTLS with the node certificate (the CA only signs
// identities of pods on this node), and the discovery stream as subscriber {kind: ztunnel, node}.
import type { Logger } from 'pino';
import { bootstrapNodeIdentity, CaClient } from '../core/identity/ca-client.js';
import { CertificateRotator } from '../core/identity/certificate-rotator.js';
import type { IssuedCertificate } from '../core/identity/issued-certificate.js';
import { DiscoveryClient } from '../core/discovery/client.js';
import type { MeshState } from '../core/model/mesh.js';
import type { ControlPlane } from './control-plane.js';
import { ztError } from './errors.js';

export interface ControllerControlPlaneOptions {
  controller: string;
  stateDir: string;
  /** Scoped bootstrap token (--token-file); default: the state dir's join-token. */
  tokenFile?: string | undefined;
  node: string;
  /** With --workers: this worker's name (`worker-2`), so `ambit status` lists every worker. */
  instance?: string;
  /** Workload certificate lifetime asked of the CA (default: the CA's, 24 h). */
  workloadCertTtlMs?: number;
  logger?: Logger;
}

export class ControllerControlPlane implements ControlPlane {
  private node: CertificateRotator | undefined;
  private ca: CaClient | undefined;

  constructor(private readonly o: ControllerControlPlaneOptions) {}

  nodeCertificate(onRotate: (c: IssuedCertificate) => void): CertificateRotator {
    this.node = new CertificateRotator({
      identity: `node/${this.o.node}`,
      issue: () =>
        bootstrapNodeIdentity({
          controller: this.o.controller,
          stateDir: this.o.stateDir,
          tokenFile: this.o.tokenFile,
          node: this.o.node,
        }),
      onRotate,
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
    return this.node;
  }

  /** The node certificate every controller call after the bootstrap presents. */
  private nodeCredential(): IssuedCertificate {
    if (!this.node) {
      throw ztError('ZT_NO_NODE_CERT', `node ${this.o.node}: no node certificate rotator yet`);
    }
    return this.node.current();
  }

  private caClient(): CaClient {
    this.ca ??= new CaClient({
      controller: this.o.controller,
      stateDir: this.o.stateDir,
      credentials: () => this.nodeCredential(),
    });
    return this.ca;
  }

  workloadRotator = (identity: string, onRotate: (c: IssuedCertificate) => void): CertificateRotator =>
    new CertificateRotator({
      identity,
      issue: () => this.caClient().requestCertificate(identity, this.o.workloadCertTtlMs),
      onRotate,
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });

  async subscribe(
    onState: (state: MeshState, version: string) => void | Promise<void>,
  ): Promise<{ close(): Promise<void> }> {
    const client = new DiscoveryClient({
      controller: this.o.controller,
      stateDir: this.o.stateDir,
      subscriber: {
        kind: 'ztunnel',
        node: this.o.node,
        ...(this.o.instance ? { name: this.o.instance } : {}),
      },
      onState,
      credentials: () => this.nodeCredential(),
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
    await client.start();
    return { close: () => client.close() };
  }

  close(): void {
    this.ca?.close();
  }
}
