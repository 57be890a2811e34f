// What the waypoint needs from the controller: its own identity (the Gateway's service account,
// kept fresh) and the discovery subscription as subscriber {kind: waypoint, name: ns/gateway}. The
// production implementation speaks gRPC to `ambit controller`; tests pass an in-process one.
import type { Logger } from 'pino';
import { bootstrapWaypointIdentity } from '../core/identity/ca-client.js';
import { CertificateRotator } from '../core/identity/certificate-rotator.js';
import type { IssuedCertificate } from '../core/identity/issued-certificate.js';
import { DiscoveryClient } from '../core/discovery/client.js';
import type { MeshState } from '../core/model/mesh.js';
import type { RotatingCertificate } from '../ztunnel/identity/workload-certificates.js';

export interface WaypointControlPlane {
  /** The waypoint's own identity's rotator (bootstrapped with its scoped token). */
  identity(onRotate: (c: IssuedCertificate) => void): RotatingCertificate;
  /** Subscribes to this waypoint's view; resolves once subscribed. Throwing from onState NACKs. */
  subscribe(
    onState: (state: MeshState, version: string) => void | Promise<void>,
  ): Promise<{ close(): Promise<void> }>;
  close(): void;
}

export interface ControllerWaypointControlPlaneOptions {
  controller: string;
  stateDir: string;
  tokenFile?: string | undefined;
  /** <namespace>/<gateway> */
  name: string;
  logger?: Logger;
}

export class ControllerWaypointControlPlane implements WaypointControlPlane {
  private rotator: CertificateRotator | undefined;

  constructor(private readonly o: ControllerWaypointControlPlaneOptions) {}

  identity(onRotate: (c: IssuedCertificate) => void): CertificateRotator {
    this.rotator = new CertificateRotator({
      identity: `waypoint/${this.o.name}`,
      issue: () =>
        bootstrapWaypointIdentity({
          controller: this.o.controller,
          stateDir: this.o.stateDir,
          tokenFile: this.o.tokenFile,
          waypoint: this.o.name,
        }),
      onRotate,
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
    return this.rotator;
  }

  async subscribe(
    onState: (state: MeshState, version: string) => void | Promise<void>,
  ): Promise<{ close(): Promise<void> }> {
    const rotator = this.rotator;
    const client = new DiscoveryClient({
      controller: this.o.controller,
      stateDir: this.o.stateDir,
      subscriber: { kind: 'waypoint', name: this.o.name },
      onState,
      ...(rotator ? { credentials: () => rotator.current() } : { tokenFile: this.o.tokenFile }),
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
    await client.start();
    return { close: () => client.close() };
  }

  close(): void {
    this.rotator?.stop();
  }
}
